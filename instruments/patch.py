"""--patch CORRUPTED: activation patching. Where does the information travel, and through what?

Two prompts of the same length that differ in a detail: the clean one ("... is yellow ...") and a
corrupted one ("... is green ..."). The clean run gives the target (" yellow") a high probability,
the corrupted run a low one. Now run the corrupted prompt again, but put back one thing from the
clean run and let the rest compute as usual. If the answer comes back, everything the model needed
from the difference went through that one thing. --patch-at chooses what is put back:

  resid    the residual stream entering block i at position t (i = n_layer: after the last block).
           At layer 0 the information sits at the changed token; where the grid lights up further
           down shows when attention moved it elsewhere. The residual stream is the only thing a
           block passes on, so the blocks from i on see the patched stream and nothing else.
  attn     what block L's attention adds to the stream at position t (after c_proj, bias included)
  mlp      what block L's MLP adds to the stream at position t
  heads    head L.H's output (its pattern times its values, before c_proj) at every position: which
           head carries the difference
  pattern  head L.H's attention pattern only; its values stay the corrupted run's
  values   head L.H's values only; its pattern stays the corrupted run's. Together with pattern:
           does the head matter through where it looks, or through what it moves?

The measure (the metric) is read at the last position: the target's probability, or with --versus the
logit difference logit(target) - logit(versus), the measure of the indirect-object literature.

Two facts make a grid cheap, and the code below is built on them. A change at position t changes
nothing before t (the causal mask), so those positions stay the corrupted run's in every block, keys and
values included: they are read from the probe, as the KV cache reads its cache (lessons/kv_cache.py),
and only the positions from the first patched one on are computed. And the patches of one layer are
independent runs of the same blocks, so they go through the network together, as a stack of copies
[n_copies, n_rows, n_embd] (the core's functions take any leading axes).
"""
import numpy as np

from attention import attend, causal_mask, merge_heads, qkv_heads
from config import Config
from instruments import refuse
from instruments.probe import Probe
from instruments.steer import onto
from layer import mlp_half
from model import unembed
from params import GPT2
from plumbing.watch import stop_point
from tensor_ops import layer_norm, linear, softmax

KINDS = ("resid", "attn", "mlp", "heads", "pattern", "values")  # the only list of them: --patch-at is checked with it
BY_POSITION = ("resid", "attn", "mlp")  # grids of (layer or block) x position; the others are block x head
ROWS = 256  # rows (copies x positions) run together, at most: larger stacks are no faster, only bigger


def measure(target, versus, params: GPT2, config: Config):
    """The metric: the final stream at the last position [..., n_embd] -> one number per run [...]."""
    def metric(x):
        logits = unembed(x, params, config)  # [..., vocab_size]
        if versus is None:
            return softmax(logits)[..., target]
        return logits[..., target] - logits[..., versus]
    return metric


def with_earlier(kept, new):
    """The keys (or values) of every position: kept [n_head, start, d_head], those of the positions before the
    patch (the same in every copy), then each copy's own new [..., n_head, n_rows, d_head]."""
    return np.concatenate([np.broadcast_to(kept, new.shape[:-2] + kept.shape[-2:]), new], axis=-2)


def run_on(x, n_block, start, base: Probe, params: GPT2, config: Config):
    """Blocks n_block, n_block + 1, ... on x [..., n_rows, n_embd]: the residual stream entering block n_block at
    positions start.. of a run that is base's before start. Returns the final stream at the last position,
    [..., n_embd]. A steered run (base.steer) is steered as it enters each later block."""
    eps = config.layer_norm_epsilon
    mask = causal_mask(x.shape[-2], start + x.shape[-2])  # the rows are the last of the positions
    for b in range(n_block, config.n_layer):
        stop_point()  # the live page's Stop ends a grid here, within a block's work
        p = params.h[b]  # layer.block, with the earlier positions' keys and values read from base
        q, k, v = qkv_heads(layer_norm(x, p.ln_1, eps), p.attn, config)  # 3 x [..., n_head, n_rows, d_head]
        k, v = with_earlier(base.k[b][:, :start], k), with_earlier(base.v[b][:, :start], v)
        if b == config.n_layer - 1:  # only the last position is read after the last block: its query alone
            x, q, mask = x[..., -1:, :], q[..., -1:, :], mask[-1:]
        x = x + linear(merge_heads(attend(q, k, v, mask)), p.attn.c_proj)
        x = x + mlp_half(x, p, config)
        x = onto(x, base.steer, b + 1, start)
    return x[..., -1, :]


def after_attention(a, n_block, start, base: Probe, params: GPT2, config: Config):
    """The stream entering block n_block + 1 [..., n_rows, n_embd] when block n_block's attention adds a (positions
    start..) in base's run."""
    x = base.states[n_block][start:] + a
    x = x + mlp_half(x, params.h[n_block], config)
    return onto(x, base.steer, n_block + 1, start)


def put_back(rows, start, ts, clean):
    """One copy of rows [n_rows, ...] (positions start..) per position t in ts, copy j with position ts[j]
    taken from clean [n_seq, ...]: [len(ts), n_rows, ...]."""
    copies = np.repeat(rows[None], len(ts), axis=0)
    copies[np.arange(len(ts)), np.array(ts) - start] = clean[ts]
    return copies


def position_runs(kind, n_block, ts, clean: Probe, corrupted: Probe, params: GPT2, config: Config):
    """The final streams [len(ts), n_embd] of the runs with one thing put back at each position of ts
    (ascending), one run per position."""
    start = ts[0]  # the first position patched: the rows before it are the corrupted run's
    if kind == "resid":  # n_block is the layer: the stream entering that block
        x = put_back(corrupted.states[n_block][start:], start, ts, clean.states[n_block])
        return run_on(x, n_block, start, corrupted, params, config)
    if kind == "attn":
        a = put_back(corrupted.attn[n_block][start:], start, ts, clean.attn[n_block])
        x = after_attention(a, n_block, start, corrupted, params, config)
    else:  # mlp: the stream halfway through the block, plus the MLP's output
        m = put_back(corrupted.mlp[n_block][start:], start, ts, clean.mlp[n_block])
        x = onto(corrupted.states[n_block][start:] + corrupted.attn[n_block][start:] + m, corrupted.steer, n_block + 1,
                 start)
    return run_on(x, n_block + 1, start, corrupted, params, config)


def chunks(positions, n_seq):
    """The positions in runs of consecutive ones, each small enough to go through the network together:
    a run starting at t holds n_seq - t rows per copy."""
    out = []
    for t in positions:
        if out and (len(out[-1]) + 1) * (n_seq - out[-1][0]) <= ROWS:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def position_grid(kind, clean: Probe, corrupted: Probe, metric, positions, params: GPT2, config: Config,
                  progress=iter):
    """resid, attn or mlp: n_layer rows (n_layer + 1 for resid) of n_seq cells, None at positions not chosen."""
    n_seq, n_rows = len(clean.states[0]), config.n_layer + (kind == "resid")
    activation = {"resid": lambda run: run.states, "attn": lambda run: run.attn, "mlp": lambda run: run.mlp}[kind]
    unchanged = float(metric(corrupted.states[-1][-1]))
    grid = [[unchanged if t in positions else None for t in range(n_seq)] for _ in range(n_rows)]
    work = []  # (block, positions run together): the patches that change something
    for n_block in range(n_rows):
        new, old = activation(clean)[n_block], activation(corrupted)[n_block]  # [n_seq, n_embd]
        changed = [t for t in positions if not np.array_equal(new[t], old[t])]  # the same vector put back: no run
        work += [(n_block, ts) for ts in chunks(changed, n_seq)]
    cells, finals = [], []
    for n_block, ts in progress(work):  # one step: at most ROWS rows through the remaining blocks
        finals.append(position_runs(kind, n_block, ts, clean, corrupted, params, config))
        cells += [(n_block, t) for t in ts]
    if finals:  # unembedded all at once: wte, the largest matrix, is then read once
        for (n_block, t), value in zip(cells, metric(np.concatenate(finals)).tolist()):
            grid[n_block][t] = value
    return grid


def new_head_outputs(kind, n_block, positions, clean: Probe, corrupted: Probe):
    """What each head of block n_block outputs [n_head, n_seq, d_head] with its output (heads), its pattern's
    rows (pattern) or its values (values) put back from the clean run at the positions chosen (any list)."""
    if kind == "heads":
        new = corrupted.heads[n_block].copy()
        new[:, positions] = clean.heads[n_block][:, positions]
        return new
    if kind == "pattern":  # the queries at the positions chosen look where they look in the clean run
        pattern = corrupted.attention[n_block].copy()  # [n_head, n_seq, n_seq]
        pattern[:, positions] = clean.attention[n_block][:, positions]
        return pattern @ corrupted.v[n_block]
    v = corrupted.v[n_block].copy()  # values: what the positions chosen hand on, for every later query
    v[:, positions] = clean.v[n_block][:, positions]
    return corrupted.attention[n_block] @ v


def head_runs(new, n_block, corrupted: Probe, params: GPT2, config: Config):
    """The final streams [n_head, n_embd] of n_head runs of the corrupted prompt, run h with head h of block
    n_block outputting new[h] [n_seq, d_head] instead of its own."""
    old = corrupted.heads[n_block]  # [n_head, n_seq, d_head]
    changed = np.flatnonzero((new != old).any(axis=(0, 2)))  # the positions where some head's output changes
    if not len(changed):
        return np.repeat(corrupted.states[-1][-1:], config.n_head, axis=0)
    start, n_head = int(changed[0]), config.n_head
    heads = np.repeat(old[None, :, start:], n_head, axis=0)  # [n_head copies, n_head, n_rows, d_head]
    heads[np.arange(n_head), np.arange(n_head)] = new[:, start:]  # copy h: head h's new output
    a = linear(merge_heads(heads), params.h[n_block].attn.c_proj)  # [n_head copies, n_rows, n_embd]
    x = after_attention(a, n_block, start, corrupted, params, config)
    return run_on(x, n_block + 1, start, corrupted, params, config)


def head_grid(kind, clean: Probe, corrupted: Probe, metric, positions, params: GPT2, config: Config, progress=iter):
    """heads, pattern or values: n_layer rows of n_head cells."""
    finals = [head_runs(new_head_outputs(kind, n_block, positions, clean, corrupted), n_block, corrupted,
                        params, config) for n_block in progress(range(config.n_layer))]
    return metric(np.stack(finals)).tolist()  # [n_layer, n_head], unembedded all at once


def kind_grid(kind, clean: Probe, corrupted: Probe, metric, positions, params: GPT2, config: Config, progress=iter):
    """The grid of one kind of --patch-at, every cell holding the metric of one run."""
    make = position_grid if kind in BY_POSITION else head_grid
    return make(kind, clean, corrupted, metric, positions, params, config, progress)


def patching(clean: Probe, corrupted: Probe, target, versus, kinds, positions, params: GPT2, config: Config,
             progress=lambda steps, kind: steps):
    """The --json object of --patch: the metric of both runs, and one grid per kind asked for, under its name.
    progress(steps, kind) wraps each grid's loop (the command line's progress bar). positions: any positions of
    the prompt (0 to n_seq - 1), in any order; each is patched once. Anything else (an unknown kind, a target the
    model lacks, prompts of two lengths) is a ValueError (instruments/refuse.py)."""
    positions = refuse.positions(positions, refuse.same_prompt_length(clean, corrupted))
    target, versus = refuse.target_and_versus(target, versus, config)
    kinds = refuse.kinds(kinds, KINDS)
    metric = measure(target, versus, params, config)
    result = {"target": target, "versus": versus, "metric": "probability" if versus is None else "logit difference",
              "clean": float(metric(clean.states[-1][-1])), "corrupted": float(metric(corrupted.states[-1][-1]))}
    for kind in kinds:
        result[kind] = kind_grid(kind, clean, corrupted, metric, positions, params, config,
                                                          lambda steps: progress(steps, kind))
    return result


SHADES = " .:-=+*#%@"  # 0 .. 1 of the way from the corrupted metric to the clean one
PUT_BACK = {"resid": "the clean residual stream entering that block", "attn": "what the block's attention adds",
            "mlp": "what the block's MLP adds", "heads": "the head's output",
            "pattern": "the head's attention pattern (its values stay the corrupted run's)",
            "values": "the head's values (its pattern stays the corrupted run's)"}


def shade(share):
    return SHADES[int(np.clip(share, 0, 1) * (len(SHADES) - 1))]


def as_metric(result, value):
    return f"{value:.2%}" if result["metric"] == "probability" else f"{value:+.3f}"


def too_small(result):
    """A sentence if the clean and corrupted runs differ too little for a share of the difference to mean anything
    (0.01 of a percentage point of probability, 0.001 of a logit: below, a share is float32's noise, 131% or -187%)."""
    difference = result["clean"] - result["corrupted"]
    if abs(difference) >= (1e-4 if result["metric"] == "probability" else 1e-3):
        return None
    return (f"  the clean and corrupted runs differ by {as_metric(result, difference)} only: too little to share out, "
            "so no cell is shown as a share of it (--json holds every cell); choose a corrupted prompt that changes "
            "the answer")


def print_patch(result, labels, target_text, versus_text=None):
    clean, corrupted = result["clean"], result["corrupted"]
    metric = f"P({target_text})" if versus_text is None else f"logit({target_text}) - logit({versus_text})"
    print(f"{metric} is {as_metric(result, clean)} in the clean run and {as_metric(result, corrupted)} in the corrupted one")
    span = clean - corrupted or 1.0
    kinds = [kind for kind in KINDS if result.get(kind) is not None]
    if kinds and too_small(result):
        print(too_small(result) + "\n")
        return
    if kinds:
        print(f"activation patching: each cell is a run of the corrupted prompt with one thing put back from the clean "
              f"run, shown as the share of the difference it brings back ({SHADES[0]!r} none, {SHADES[-1]!r} all of it)")
    for kind in kinds:
        cells = result[kind]
        print(f"\n  {kind}: {PUT_BACK[kind]}")
        name = print_grid(kind, cells, labels, lambda v: (v - corrupted) / span)
        ranked = sorted(((v - corrupted) / span, v, b, i) for b, row in enumerate(cells) for i, v in enumerate(row)
                       if v is not None)
        best = [cell for cell in ranked[::-1][:3] if cell[0] >= 0.01]
        print("  the best: " + (", ".join(f"{name(b, i)} {as_metric(result, v)} ({share:.0%})" for share, v, b, i in best)
                                or "none brings back 1% of the difference or more"))
    print()


def print_grid(kind, cells, labels, share):
    """One kind's grid, each cell shaded by share(its value); returns name(row, column), the words for a cell."""
    if kind in BY_POSITION:
        print_position_grid(kind, cells, labels, share)
        return lambda b, i: f"{'layer' if kind == 'resid' else 'block'} {b} at {labels[i]} (#{i})"
    print_head_grid(cells, share)
    return lambda b, i: f"head {b}.{i}"


def print_position_grid(kind, cells, labels, share):
    width = max(len(label) for label in labels)
    for t, label in enumerate(labels):
        column = [row[t] for row in cells]
        if column[0] is not None:  # a position chosen (--patch-positions)
            print(f"  {label:>{width}} |{''.join(shade(share(v)) for v in column)}|")
    what = "layers 0 (the embeddings) to" if kind == "resid" else "blocks 0 to"
    print(f"  {'':>{width}}  {what} {len(cells) - 1}{' (after the last block)' if kind == 'resid' else ''}, "
          "left to right")


def print_head_grid(cells, share):
    print("  block  heads 0 to", len(cells[0]) - 1, "left to right")
    for n_block, row in enumerate(cells):
        print(f"  {n_block:>5} |{''.join(' ' if v is None else shade(share(v)) for v in row)}|")
