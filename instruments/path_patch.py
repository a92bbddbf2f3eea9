"""--path RECEIVER (with --patch CORRUPTED): path patching. Which heads act on the answer, or on one head, directly?

Activation patching measures a head's total effect: change its output and everything after it computes
anew, so the change reaches the answer by every route at once, through any later head. Path patching
keeps one route. For each sender head S, pass 1 runs the clean prompt with S's output taken from the
corrupted run and every other head's output frozen at its clean value; the MLPs and LayerNorms compute
as usual. With the other heads frozen, S's change cannot travel through them: it reaches the end only
along the residual stream itself (and the MLPs it passes). The receiver says where that end is:

  logits     the metric of pass 1 is S's cell: how much of the answer S writes directly.
  L.H.q      (or .k, .v) head H of block L. Pass 1 is stopped at block L and records the queries (keys,
             values) that head H would compute there; pass 2 runs the clean prompt as usual, with only
             that head's queries (keys, values) replaced by those, and its metric is S's cell. It answers
             which earlier heads tell H where to look (q, k) or what to move (v).

Senders are the heads of the blocks before the receiver's (every head, for the logits). Like patching
every head, the grid goes through the network a block of senders at a time (patch.py's run_on).
"""
import numpy as np

from attention import attention_weights, causal_mask, merge_heads, qkv_heads
from config import Config
from instruments import refuse
from instruments.patch import after_attention, as_metric, print_head_grid, run_on, too_small
from instruments.probe import Probe
from instruments.steer import onto
from layer import mlp_half
from params import GPT2
from plumbing.watch import stop_point
from tensor_ops import layer_norm, linear


def senders_run(n_block, until, rows, clean: Probe, corrupted: Probe, params: GPT2, config: Config):
    """Pass 1 for the n_head senders of block n_block: n_head runs of the clean prompt, run h with head h's
    output from the corrupted run and every other head frozen at its clean output. Returns the stream
    entering block `until` [n_head, n_rows, n_embd] at the positions `rows` (a slice)."""
    n_head = config.n_head
    heads = np.repeat(clean.heads[n_block][None, :, rows], n_head, axis=0)  # [n_head runs, n_head, n_rows, d_head]
    heads[np.arange(n_head), np.arange(n_head)] = corrupted.heads[n_block][:, rows]  # run h: head h corrupted
    x = clean.states[n_block][rows] + linear(merge_heads(heads), params.h[n_block].attn.c_proj)
    x = x + mlp_half(x, params.h[n_block], config)
    first = range(len(clean.states[0]))[rows][0]  # the position of x's first row
    x = onto(x, clean.steer, n_block + 1, first)  # a steered run is steered as it enters a block
    for b in range(n_block + 1, until):  # every head frozen: the block's attention adds what it added when clean
        stop_point()
        x = x + clean.attn[b][rows]
        x = x + mlp_half(x, params.h[b], config)
        x = onto(x, clean.steer, b + 1, first)
    return x


def receiver_run(x, receiver, clean: Probe, params: GPT2, config: Config):
    """Pass 2: runs of the clean prompt in which only the receiver head's queries (keys, values) are those it
    computes from x [n_runs, n_seq, n_embd]. Returns the final streams at the last position [n_runs, n_embd]."""
    n_block, head, which = receiver
    p = params.h[n_block]
    q, k, v = (np.repeat(t[head][None], len(x), axis=0) for t in (clean.q[n_block], clean.k[n_block], clean.v[n_block]))
    new = qkv_heads(layer_norm(x, p.ln_1, config.layer_norm_epsilon), p.attn, config)["qkv".index(which)]
    q, k, v = [new[:, head] if name == which else t for name, t in zip("qkv", (q, k, v))]  # [n_runs, n_seq, d_head]
    heads = np.repeat(clean.heads[n_block][None], len(x), axis=0)  # [n_runs, n_head, n_seq, d_head]
    heads[:, head] = attention_weights(q, k, causal_mask(x.shape[-2])) @ v  # the receiver, as attend computes it
    x = after_attention(linear(merge_heads(heads), p.attn.c_proj), n_block, 0, clean, params, config)
    return run_on(x, n_block + 1, 0, clean, params, config)


def path_grid(receiver, clean: Probe, corrupted: Probe, metric, params: GPT2, config: Config, progress=iter):
    """grid[L][H]: the metric with head L.H as the sender; None for heads in or after the receiver's block.
    receiver: "logits", or (block, head, "q" | "k" | "v"); anything else is a ValueError."""
    if receiver != "logits":
        if not (isinstance(receiver, tuple) and len(receiver) == 3 and receiver[2] in ("q", "k", "v")):
            raise ValueError(f'the receiver is "logits" or (block, head, "q" | "k" | "v"), not {receiver!r:.40}')
        refuse.heads([receiver[:2]], config)
    refuse.same_prompt_length(clean, corrupted)
    until = config.n_layer if receiver == "logits" else receiver[0]
    finals = []
    for n_block in progress(range(until)):
        if receiver == "logits":  # with every other head frozen, no position reads another: the last one suffices
            finals.append(senders_run(n_block, until, slice(-1, None), clean, corrupted, params, config)[:, -1])
        else:
            x = senders_run(n_block, until, slice(None), clean, corrupted, params, config)
            finals.append(receiver_run(x, receiver, clean, params, config))
    cells = metric(np.stack(finals)).tolist() if finals else []  # [until, n_head], unembedded all at once
    return cells + [[None] * config.n_head for _ in range(until, config.n_layer)]


def receiver_name(receiver):
    if receiver == "logits":
        return "the logits"
    n_block, head, which = receiver
    return f"the {dict(q='queries', k='keys', v='values')[which]} of head {n_block}.{head}"


def print_path(result, patch, target_text, versus_text=None):
    """result: the "path" of --json; patch: its "patch" (the metric of the clean and corrupted runs)."""
    clean, corrupted = patch["clean"], patch["corrupted"]
    span = clean - corrupted or 1.0
    receiver = "logits" if result["receiver"] == "logits" else tuple(result["receiver"])
    print(f"path patching to {receiver_name(receiver)}: each cell is a run of the clean prompt with that head's output "
          f"from the corrupted run, reaching {receiver_name(receiver)} only directly (every other head frozen), shown as "
          "the share of the difference it takes away")
    if too_small(patch):
        print(too_small(patch) + "\n")
        return
    print_head_grid(result["grid"], lambda v: (clean - v) / span)
    cells = sorted(((clean - v) / span, v, b, h) for b, row in enumerate(result["grid"]) for h, v in enumerate(row)
                   if v is not None)
    largest = [cell for cell in sorted(cells, key=lambda c: -abs(c[0]))[:3] if abs(cell[0]) >= 0.01]
    print("  the largest: " + (", ".join(f"head {b}.{h} {as_metric(patch, v)} ({share:.0%} of it)" for share, v, b, h in largest)
                               or "no head's path takes away 1% of it or more"))
    print()
