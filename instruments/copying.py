"""--copying: copying scores. Does a head, when it attends to a token, write that same token?

A head's output at a position is a weighted average, over the positions j it attends to, of what it
reads there: ln_1(x_j) through the head's value columns of c_attn, then through its rows of c_proj.
Where it looks (the pattern) and what it moves (this product, its "OV circuit") are separate: so one
can ask what the head would write if it put all its weight on position j, and read that vector through
unembed as if it were the whole residual stream. If the token at j itself comes out among the k
likeliest, the head copies what it attends to: the job of the IOI paper's "name mover" heads, which
attend to a name and write it (Wang et al. 2022, section 3.1, whose measure this is).

The score of a head is the share of the prompt's positions whose own token is among the k = 5 highest
logits, x_j being the residual stream after block 0 (where each position mostly still holds its own
token). The biases are left out: they are the same whatever the head reads.
"""
from typing import NamedTuple

import numpy as np

from attention import split_heads
from config import Config
from instruments.probe import Probe
from model import unembed
from params import GPT2
from plumbing.watch import stop_point
from tensor_ops import layer_norm

K = 5
ROWS = 256  # logits made at a time, [ROWS, vocab_size]


class CopyingRow(NamedTuple):  # in --json, {"block", "head", "score"}
    block: int
    head: int
    score: float  # between 0 and 1


def copying_scores(ids, seen: Probe, params: GPT2, config: Config, k=K):
    """[CopyingRow] for every head, in block order: the share of positions t whose token ids[t] is
    among the k highest logits of what the head would write from t."""
    n_head, n_embd, n_seq = config.n_head, config.n_embd, len(ids)
    d_head = n_embd // n_head
    x = seen.states[1]  # [n_seq, n_embd]: after block 0
    scores = []
    for n_block, p in enumerate(params.h):
        stop_point()  # the live page's Stop ends a long prompt's scores here, block by block
        v = split_heads(layer_norm(x, p.ln_1, config.layer_norm_epsilon) @ p.attn.c_attn.weight[:, 2 * n_embd:],
                        n_head)  # [n_head, n_seq, d_head]: the value columns, no bias
        written = v @ p.attn.c_proj.weight.reshape(n_head, d_head, n_embd)  # [n_head, n_seq, n_embd]: its rows
        written, own = written.reshape(-1, n_embd), np.tile(ids, n_head)  # head by head: a row and its token
        hits = np.concatenate([copies(written[start:start + ROWS], own[start:start + ROWS], params, config, k)
                               for start in range(0, len(own), ROWS)])
        scores += [CopyingRow(n_block, head, float(h.mean())) for head, h in enumerate(hits.reshape(n_head, n_seq))]
    return scores


def copies(x, ids, params: GPT2, config: Config, k):
    """For each row of x [rows, n_embd] read as a final stream: is ids[row] among its k likeliest tokens?"""
    logits = unembed(x, params, config)  # [rows, vocab_size]
    own = logits[np.arange(len(ids)), ids]
    return (logits > own[:, None]).sum(axis=-1) < k  # fewer than k tokens above it


def print_copying(scores, k=K, shown=10):
    print(f"copying scores: the share of prompt positions whose own token is among the {k} likeliest of what "
          f"the head writes from it (its values through c_proj, read by unembed); the {shown} highest")
    best = sorted(scores, key=lambda row: -row.score)[:shown]
    print("  " + "  ".join(f"{row.block}.{row.head} {row.score:.2f}" for row in best))
    print()
