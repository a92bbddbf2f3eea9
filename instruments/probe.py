"""One forward pass with its inside kept: how the tools look into the network, once per prompt.

model.forward keeps only the logits. probe() runs the same computation, with the core's own
functions in the same order, and keeps what the instruments read at these named points:

  states[i]     layer i: the residual stream entering block i, [n_seq, n_embd]. states[0] is the
                embeddings' output, states[n_layer] the stream after the last block.
  q[L], k[L], v[L]  block L's queries, keys and values, [n_head, n_seq, d_head].
  attention[L]  block L's attention pattern, [n_head, n_seq, n_seq]: row t is where position t looked.
  heads[L]      each head's output before c_proj (its pattern times the values), [n_head, n_seq, d_head].
  attn[L]       block L's attention output, as added to the stream (after c_proj), [n_seq, n_embd].
  mlp[L]        block L's MLP output, as added to the stream, [n_seq, n_embd].
  steer         the steering the run made (instruments/steer.py), or None: the stream entering block
                steer.at (states[steer.at]) holds it, and the experiments' runs add it as they pass there.
  logits        [n_seq, vocab_size], model.forward's: bit for bit up to attention.QUERY_ROWS tokens;
                beyond, at float32 round-off, as attention.attend then sums in slices (tested).

The loop body is layer.block with its attention (attention.attention) written out one step per line,
taking attend's one-line meaning, attention_weights(q, k, mask) @ v, so that the whole pattern and the
heads' outputs can be kept: nothing is computed twice, and what an instrument shows is the very
number that went into the probe's logits. An experiment that replaces a value does it in the open:
patch.py puts one run's numbers into another and runs the remaining blocks with the core's functions,
reading the unchanged positions' keys and values from a probe; ablate.py removes heads in the weights,
where every path sees it.
"""
from dataclasses import dataclass, field

from attention import attention_weights, causal_mask, merge_heads, qkv_heads
from config import Config
from instruments.steer import onto
from layer import mlp_half
from model import embed, unembed
from params import GPT2
from tensor_ops import layer_norm, linear


@dataclass
class Probe:
    states: list = field(default_factory=list)  # n_layer + 1 arrays [n_seq, n_embd]
    q: list = field(default_factory=list)  # n_layer arrays [n_head, n_seq, d_head]
    k: list = field(default_factory=list)
    v: list = field(default_factory=list)
    attention: list = field(default_factory=list)  # n_layer arrays [n_head, n_seq, n_seq]
    heads: list = field(default_factory=list)  # n_layer arrays [n_head, n_seq, d_head]
    attn: list = field(default_factory=list)  # n_layer arrays [n_seq, n_embd]
    mlp: list = field(default_factory=list)  # n_layer arrays [n_seq, n_embd]
    steer: object = None  # steer.Steer, or None
    logits: object = None  # [n_seq, vocab_size]


def probe(ids, params: GPT2, config: Config, steer=None) -> Probe:
    """steer: a Steer (--steer) for a run of the steered model."""
    eps = config.layer_norm_epsilon
    x = embed(ids, params)  # [n_seq, n_embd]
    mask = causal_mask(len(ids))
    seen = Probe(steer=steer)
    for n_block, p in enumerate(params.h):  # layer.block, step by step
        x = onto(x, steer, n_block)  # nothing, unless steered here
        seen.states.append(x)
        q, k, v = qkv_heads(layer_norm(x, p.ln_1, eps), p.attn, config)  # 3 x [n_head, n_seq, d_head]
        weights = attention_weights(q, k, mask)  # [n_head, n_seq, n_seq]
        heads = weights @ v  # [n_head, n_seq, d_head]
        a = linear(merge_heads(heads), p.attn.c_proj)  # [n_seq, n_embd]
        x = x + a
        m = mlp_half(x, p, config)  # [n_seq, n_embd]
        x = x + m
        seen.q.append(q)
        seen.k.append(k)
        seen.v.append(v)
        seen.attention.append(weights)
        seen.heads.append(heads)
        seen.attn.append(a)
        seen.mlp.append(m)
    seen.states.append(x)
    seen.logits = unembed(x, params, config)  # [n_seq, vocab_size]
    return seen
