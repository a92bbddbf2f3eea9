"""--ablate L.H[,L.H...]: remove attention heads, and see what the model does without them.

A head's output is its attention pattern times its values, [n_seq, d_head]. merge_heads puts the
n_head outputs side by side, [n_seq, n_embd], and c_proj mixes them back into the residual stream:
merged @ c_proj.weight + c_proj.bias. Rows h*d_head .. (h+1)*d_head - 1 of c_proj.weight are the
only numbers that ever multiply head h's output, so c_proj is a sum of one term per head:

    merged @ W  =  sum over h of  head_h @ W[h*d_head:(h+1)*d_head]

Setting head h's output to zero and setting its rows of W to zero remove the same term, and change
nothing else, bit for bit. So the head is removed in the weights, once, before anything runs: the
naive loop, the KV cache, --score and every instrument then compute without it, and no line of the
core knows. (The bias, shared by all heads, stays: it is not any head's output.)
"""
import dataclasses

from config import Config
from params import GPT2


def ablate(params: GPT2, heads, config: Config) -> GPT2:
    """A copy of params in which each (block, head) in heads writes nothing into the residual stream."""
    d_head = config.n_embd // config.n_head
    blocks = list(params.h)
    for n_block, head in heads:
        p = blocks[n_block]
        weight = p.attn.c_proj.weight.copy()  # [n_embd, n_embd]: rows are the merged heads' numbers
        weight[head * d_head:(head + 1) * d_head] = 0.0
        c_proj = dataclasses.replace(p.attn.c_proj, weight=weight)
        blocks[n_block] = dataclasses.replace(p, attn=dataclasses.replace(p.attn, c_proj=c_proj))
    return dataclasses.replace(params, h=tuple(blocks))


def check_heads(heads, config: Config):
    """The first head that this model does not have, as a sentence; None if all exist."""
    for n_block, head in heads:
        if n_block >= config.n_layer or head >= config.n_head:
            return (f"there is no head {n_block}.{head}: this model has blocks 0 to {config.n_layer - 1} "
                    f"and heads 0 to {config.n_head - 1} in each")
    return None
