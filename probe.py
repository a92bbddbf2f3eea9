"""One forward pass with its insides kept, for the learning tools (--lens, --attention).

model.forward keeps only the logits. This runs the same blocks (layer.block) and keeps, for every
block, the residual stream after it and its attention pattern: which earlier tokens each position
drew from, per head. Nothing here changes a number: the last state, through ln_f and wte, gives
forward's logits.
"""
from dataclasses import dataclass

from attention import attention_weights, causal_mask, qkv_heads
from config import Config
from layer import block
from params import GPT2
from tensor_ops import layer_norm


@dataclass(frozen=True)
class Probe:
    states: list  # n_layer + 1 arrays [n_seq, n_embd]: after the embeddings, then after each block
    attention: list  # n_layer arrays [n_head, n_seq, n_seq]: row i is where position i looked


def probe(ids, params: GPT2, config: Config) -> Probe:
    x = params.wte[ids] + params.wpe[:len(ids)]  # [n_seq, n_embd]
    mask = causal_mask(len(ids))
    states, attention = [x], []
    for p in params.h:
        q, k, _ = qkv_heads(layer_norm(x, p.ln_1, config.layer_norm_epsilon), p.attn, config)
        attention.append(attention_weights(q, k, mask))  # what block() computes inside, kept
        x = block(x, p, config, mask)
        states.append(x)
    return Probe(states, attention)
