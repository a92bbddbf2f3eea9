"""--why-attends L.H: why head L.H looks where it does, split exactly into what each earlier part wrote.

Where a head looks is decided by its scores before the softmax: score(Q, K) = q_Q . k_K / sqrt(d_head), the query
of position Q against the key of position K. Both come from the stream entering block L through ln_1 and c_attn:
q = ln_1(x_Q) @ W_Q + b_Q. ln_1 is (x - mean(x)) / std(x) * ln_1.weight + ln_1.bias, linear in x but for std.
Freeze std at each position as it was in the run, and everything is linear. The stream entering block L is a sum
of parts, as direct logit attribution's final stream is (instruments/attribute.py): the token's embedding
("embed"), its position's ("pos"), each earlier head's output through its rows of c_proj ("l.h"), each earlier
block's c_proj bias ("l.attn_bias") and MLP ("l.mlp"), and the steering vector ("steer") when steered. So the
query is a sum of one vector per part, plus one for the biases ("bias": ln_1.bias @ W_Q + b_Q), the key too, and
the score is a table: query part i against key part j, their dot product over sqrt(d_head). The table adds up to
the score the run computed, exactly but for float32 round-off.

A large cell says what made this head look here: the previous-token head's output on the key side ("at K stands
what followed the current token") met by the query's own embedding is an induction head at work.

The table is about this prompt. composition() is about the weights alone (Elhage et al. 2021): how much an earlier
head's output space lines up with what L.H reads as query (Q-composition), key (K) or value (V), whatever the
text: ||OV_early M||_F / (||OV_early||_F ||M||_F), M = W_Q W_K^T, its transpose or L.H's OV, with ln_1's weight
folded into W_Q, W_K and W_V and no centring. The two can disagree: a head can be wired to compose and have
written little at these positions, or write a lot along directions the weights do not single out.
"""
import math
from typing import NamedTuple

import numpy as np

from config import Config
from instruments.attribute import parts
from instruments.probe import Probe
from params import GPT2


class WhyAttends(NamedTuple):  # in --json, "why_attends"
    head: str  # "L.H"
    query: int
    key: int
    score: float  # the run's q . k / sqrt(d_head) at (query, key)
    weight: float  # its attention weight
    parts: list  # the names of the parts, the table's rows (query side) and columns (key side)
    table: list  # [parts][parts]: query part i against key part j
    composition: dict  # {"q", "k", "v"}: {"l.h": score} for every earlier head


def why_attends(seen: Probe, params: GPT2, config: Config, n_block, head, query=None, key=None) -> WhyAttends:
    """The table of head n_block.head at (query, key): query defaults to the last position, key to the one it
    attends to most."""
    n_seq, d_head = len(seen.states[0]), config.n_embd // config.n_head
    query = n_seq - 1 if query is None else query
    pattern = seen.attention[n_block][head]  # [n_seq, n_seq]
    key = int(np.argmax(pattern[query])) if key is None else key
    names, q = side(seen, params, config, n_block, query, head, 0)  # [parts, d_head]
    _, k = side(seen, params, config, n_block, key, head, 1)
    table = q @ k.T / math.sqrt(d_head)  # [parts, parts]
    score = float(seen.q[n_block][head, query] @ seen.k[n_block][head, key]) / math.sqrt(d_head)
    return WhyAttends(f"{n_block}.{head}", query, key, score, float(pattern[query, key]), names, table.tolist(),
                      composition(params, config, n_block, head))


def side(seen: Probe, params: GPT2, config: Config, n_block, t, head, which):
    """(part names, [parts, d_head]): what each part of the stream entering block n_block at position t adds to
    head's query (which=0) or key (which=1), through ln_1 with its scale frozen and c_attn; "bias" last."""
    p, n_embd, d_head = params.h[n_block], config.n_embd, config.n_embd // config.n_head
    columns = slice(which * n_embd + head * d_head, which * n_embd + (head + 1) * d_head)
    x = seen.states[n_block][t]
    std = math.sqrt(float(x.var()) + config.layer_norm_epsilon)  # frozen at this run's value
    names, vectors = zip(*parts(seen, params, config, until=n_block, position=t, split_embedding=True))
    v = np.stack(vectors)  # [parts, n_embd]
    projected = ((v - v.mean(axis=-1, keepdims=True)) / std * p.ln_1.weight) @ p.attn.c_attn.weight[:, columns]
    bias = p.ln_1.bias @ p.attn.c_attn.weight[:, columns] + p.attn.c_attn.bias[columns]  # [d_head]
    return [*names, "bias"], np.vstack([projected, bias])


def block_matrices(params: GPT2, config: Config, n_block):
    """(W_Q, W_K, W_V, W_O) of every head of a block: [n_head, n_embd, d_head] x 3 and [n_head, d_head, n_embd],
    ln_1's weight folded into the first three. float32 as the weights are: the scores need 4 digits, not 16."""
    p, n_embd, n_head = params.h[n_block], config.n_embd, config.n_head
    w = p.attn.c_attn.weight * p.ln_1.weight[:, None]  # [n_embd, 3 * n_embd]
    q, k, v = (w[:, i * n_embd:(i + 1) * n_embd].reshape(n_embd, n_head, -1).transpose(1, 0, 2) for i in range(3))
    return q, k, v, p.attn.c_proj.weight.reshape(n_head, -1, n_embd)


def composition(params: GPT2, config: Config, n_block, head):
    """{"q", "k", "v"}: {"l.h": the composition score} of every head of the blocks before n_block with n_block.head
    (0 where either head's matrix is zero, as a head --ablate removed is in the weights). Every product is of rank
    d_head or less, so each norm is taken through d_head x d_head matrices, never an n_embd x n_embd one:
    ||A M D^T||_F^2 = trace(M^T (A^T A) M (D^T D)), for all the heads of a block at once."""
    wq, wk, wv, wo = (m[head] for m in block_matrices(params, config, n_block))
    late = {"q": (wq, wk), "k": (wk, wq), "v": (wv, wo.T)}  # M = first @ second.T: QK, its transpose, OV
    size = {kind: squared_norm(first.T @ first, np.eye(first.shape[1], dtype=np.float32), second.T @ second) ** 0.5
            for kind, (first, second) in late.items()}
    found = {kind: {} for kind in late}
    for l in range(n_block):
        _, _, v, o = block_matrices(params, config, l)  # OV_early = v @ o, per head
        gram = v.swapaxes(-1, -2) @ v  # [n_head, d_head, d_head]
        early = squared_norm(gram, np.eye(o.shape[1], dtype=np.float32), o @ o.swapaxes(-1, -2)) ** 0.5  # [n_head]
        for kind, (first, second) in late.items():
            scale = early * size[kind]  # 0 where a head writes nothing
            norm = squared_norm(gram, o @ first, second.T @ second) ** 0.5
            scores = np.divide(norm, scale, out=np.zeros_like(norm), where=scale > 0)
            found[kind].update({f"{l}.{h}": float(v) for h, v in enumerate(scores)})
    return found


def squared_norm(gram_a, core, gram_d):
    """||a @ core @ d.T||_F^2 from a's Gram matrix a.T @ a and d's, d.T @ d (each may carry a leading axis)."""
    return np.maximum(0.0, np.einsum("...ii->...", core.swapaxes(-1, -2) @ gram_a @ core @ gram_d))


def print_why_attends(why: WhyAttends, labels, shown=8):
    """The largest cells of the table, what they add up to, and the composition scores beside them."""
    print(f"why head {why.head} attends from {labels[why.query]} (position {why.query}) to {labels[why.key]} "
          f"(position {why.key}): weight {why.weight:.3f}, score q.k/sqrt(d_head) {why.score:+.3f}")
    print("  the score split into (what the query's stream holds) x (what the key's stream holds), ln_1's scale frozen;"
          f" the {shown} largest of {len(why.parts) ** 2} cells:")
    cells = sorted(((v, i, j) for i, row in enumerate(why.table) for j, v in enumerate(row)), key=lambda c: -abs(c[0]))
    for value, i, j in cells[:shown]:
        print(f"    query {why.parts[i]:<12} x key {why.parts[j]:<12} {value:+8.3f}")
    total = sum(map(sum, why.table))
    print(f"  all cells add up to {total:+.4f} ({abs(total - why.score):.1e} from the run's score: float32 round-off)")
    keys = {name: sum(row[j] for row in why.table) for j, name in enumerate(why.parts)}
    top = max(keys, key=lambda name: abs(keys[name]))
    print(f"  on the key side, {top} matters most ({keys[top]:+.3f} of the score): what it wrote at position "
          f"{why.key} is what the query looks for")
    for kind, name in (("q", "queries"), ("k", "keys"), ("v", "values")):
        best = sorted(why.composition[kind].items(), key=lambda item: -item[1])[:3]
        if best:
            print(f"  weights alone, {kind.upper()}-composition (an earlier head read by its {name}): "
                  + ", ".join(f"{h} {s:.3f}" for h, s in best))
    print("  the table is this prompt's, the composition scores the weights' alone: a head the weights wire to\n"
          "  this one can have written little at these positions, and the other way round\n")
