"""Exercise 11's solution: removing a head in the weights."""
import dataclasses


def ablate_head(params, config, n_block, head):
    d_head = config.n_embd // config.n_head
    p = params.h[n_block]
    weight = p.attn.c_proj.weight.copy()  # [n_embd, n_embd]: a row per number of the merged heads
    weight[head * d_head:(head + 1) * d_head] = 0.0
    c_proj = dataclasses.replace(p.attn.c_proj, weight=weight)
    blocks = list(params.h)
    blocks[n_block] = dataclasses.replace(p, attn=dataclasses.replace(p.attn, c_proj=c_proj))
    return dataclasses.replace(params, h=tuple(blocks))
