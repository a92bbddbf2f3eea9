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

--ablate-with mean: zero is a value the head never outputs, so removing it also shifts the stream by
what its typical output contributed, an effect of its own that later blocks may react to. Mean ablation
replaces the head's output, at every position, by its average over the prompt's positions in the run
without ablation, mean_h [d_head]: the head then says only what it says everywhere. That too can be done
in the weights, once. The head's term becomes mean_h @ W[h*d_head:(h+1)*d_head] at every position: a
constant, which is what a bias is. So its rows of W are zeroed, as above, and that constant joins
c_proj's bias. The numbers are those of replacing the outputs up to float32 round-off (the same terms,
added in another order), tested.
"""
import dataclasses

from config import Config
from instruments import refuse
from instruments.probe import Probe
from params import GPT2


def ablate(params: GPT2, heads, config: Config, means=None) -> GPT2:
    """A copy of params in which each (block, head) in heads writes nothing into the residual stream or,
    with means ({(block, head): [d_head]}, see mean_outputs), that vector in place of its output. A head the model
    does not have (a negative index included) is a ValueError, refuse.check_heads' sentence."""
    heads = refuse.heads(heads, config)
    d_head = config.n_embd // config.n_head
    blocks = list(params.h)
    for n_block, head in heads:
        p = blocks[n_block]
        rows = slice(head * d_head, (head + 1) * d_head)  # the head's rows of c_proj.weight
        weight = p.attn.c_proj.weight.copy()  # [n_embd, n_embd]: rows are the merged heads' numbers
        bias = p.attn.c_proj.bias if means is None else p.attn.c_proj.bias + means[n_block, head] @ weight[rows]
        weight[rows] = 0.0
        c_proj = dataclasses.replace(p.attn.c_proj, weight=weight, bias=bias)
        blocks[n_block] = dataclasses.replace(p, attn=dataclasses.replace(p.attn, c_proj=c_proj))
    return dataclasses.replace(params, h=tuple(blocks))


def mean_outputs(seen: Probe, heads):
    """{(block, head): its output [d_head] averaged over the positions of the probed run}."""
    return {(n_block, head): seen.heads[n_block][head].mean(axis=0) for n_block, head in heads}
