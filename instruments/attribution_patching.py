"""--attribution-patching (with --patch) and --saliency: the patching grids and a token's share, estimated from
one backward pass (lessons/backward.py) instead of a run per cell.

Attribution patching (Nanda, 2023). An exact patching cell (instruments/patch.py) runs the corrupted prompt
with one activation put back from the clean run and reads the metric. If the metric were a straight line in
that activation, the change would be the difference put back dotted with the metric's gradient there, and
one backward pass of the corrupted run gives that gradient for every activation at once:

    cell ~ metric(corrupted) + (clean activation - corrupted activation) . gradient in the corrupted run

summed over everything the cell puts back (a head's output at every position chosen, a pattern's rows).
Three forward-pass equivalents (the two probes and the backward) for every grid, against a forward pass per
cell. The estimate is as good as the line: it holds where the change is small or the network nearly linear
in it, and fails where it is not: a saturated softmax (the probability near 0 or 1, an attention pattern
near one-hot) has a gradient near 0 however large the real effect; the residual stream early on carries
the whole difference through every later nonlinearity. The terminal and the page show each estimate beside
its exact grid, with the cells' errors and their correlation.

Saliency (gradient times input): per prompt position t, the embedding's output at t dotted with the gradient
there of log P(target) (or of the logit difference, with --versus), in the clean run: the first-order share of the metric that position's embedding holds
(all of them at once would be the metric minus its value from zero embeddings, were the network a line).
"""
import numpy as np

from config import Config
from instruments import refuse
from instruments.patch import BY_POSITION, KINDS, print_grid
from instruments.probe import Probe
from lessons.backward import backward, metric_gradient
from params import GPT2


def gradients(seen: Probe, target, versus, params: GPT2, config: Config, kind="probability"):
    """(the metric, its gradients) of the run seen: P(target) at the last position (log P(target) with kind
    "logprob"), or logit(target) - logit(versus), as patch.measure."""
    value, d_logits = metric_gradient(seen.logits[-1], target, versus, kind)
    return value, backward(seen, d_logits, params, config)


def delta_dot(clean, corrupted, grad, axes):
    """(clean - corrupted) . grad, summed over axes, in float32 as everything else."""
    return ((clean - corrupted) * grad).sum(axis=axes)


def estimated_grid(kind, clean: Probe, corrupted: Probe, base, grads, positions):
    """One kind's grid of first-order estimates, laid out as patch.kind_grid's: None where that grid has None."""
    if kind in BY_POSITION:  # the probe and the gradients name their points alike
        point = {"resid": "states", "attn": "attn", "mlp": "mlp"}[kind]
        new, old, grad = getattr(clean, point), getattr(corrupted, point), getattr(grads, point)
        changes = [delta_dot(a, b, g, -1) for a, b, g in zip(new, old, grad)]  # n_rows x [n_seq]
        return [[base + float(change[t]) if t in positions else None for t in range(len(change))] for change in changes]
    ts = np.array(positions)
    if kind == "heads":  # each head's output at the positions chosen
        new, old, grad = clean.heads, corrupted.heads, grads.heads
    elif kind == "pattern":  # the rows of the positions chosen (the queries), every key
        new, old, grad = clean.attention, corrupted.attention, grads.pattern
    else:  # values: the values the positions chosen hand on
        new, old, grad = clean.v, corrupted.v, grads.values
    return [(base + delta_dot(a[:, ts], b[:, ts], g[:, ts], (1, 2))).tolist() for a, b, g in zip(new, old, grad)]


def attribution_patching(clean: Probe, corrupted: Probe, target, versus, kinds, positions, params: GPT2,
                         config: Config):
    """The --json object of --attribution-patching: one estimated grid per kind, under --patch's keys. positions:
    any positions of the prompt, in any order. Anything else is a ValueError (instruments/refuse.py)."""
    positions = refuse.positions(positions, refuse.same_prompt_length(clean, corrupted))
    target, versus = refuse.target_and_versus(target, versus, config)
    kinds = refuse.kinds(kinds, KINDS)
    base, grads = gradients(corrupted, target, versus, params, config)
    return {kind: estimated_grid(kind, clean, corrupted, base, grads, positions) for kind in kinds}


def saliency(seen: Probe, target, versus, params: GPT2, config: Config):
    """Gradient times input at each prompt position: [n_seq] numbers in the metric's units, the metric being
    log P(target) (whose gradient does not vanish where the model is unsure, as P's does), or with versus the logit
    difference."""
    target, versus = refuse.target_and_versus(target, versus, config)
    _, grads = gradients(seen, target, versus, params, config, "logprob")
    return delta_dot(seen.states[0], 0.0, grads.embedding, -1).tolist()


def agreement(exact, estimate):
    """(the correlation of the cells both grids hold, or None where a grid is constant; those cells as (error,
    estimate, exact value, row, column), the largest error first)."""
    cells = sorted(((abs(a - e), a, e, r, c) for r, (row_e, row_a) in enumerate(zip(exact, estimate))
                    for c, (e, a) in enumerate(zip(row_e, row_a)) if e is not None), reverse=True)
    e, a = np.array([cell[2] for cell in cells]), np.array([cell[1] for cell in cells])
    correlation = float(np.corrcoef(e, a)[0, 1]) if len(cells) > 1 and e.std() > 0 and a.std() > 0 else None
    return correlation, cells


HOW = ("each cell is the corrupted run's metric plus (clean - corrupted) . its gradient, a straight line through the "
       "corrupted run: it is right where the change is small, and misses most of a large change that passes through "
       "a softmax or a LayerNorm (a pattern near one-hot, a probability near 0 or 1)")


def recovered(exact, estimate, corrupted, shown=3):
    """The largest exact effects (a cell's change from the corrupted run), each with the share of it the estimate
    recovers: [(row, column, exact change, estimate / exact)]."""
    effects = sorted(((abs(e - corrupted), r, c, e - corrupted, a - corrupted)
                      for r, (row_e, row_a) in enumerate(zip(exact, estimate))
                      for c, (e, a) in enumerate(zip(row_e, row_a)) if e is not None and e != corrupted), reverse=True)
    return [(r, c, change, guess / change) for _, r, c, change, guess in effects[:shown]]


def print_attribution_patching(result, exact, kinds, labels):
    """Each estimated grid, shaded as its exact one is (the share of the difference), then how far it agrees with
    the exact grid, if it was computed: the correlation, and the share of each of the largest exact effects that it
    recovers (a correlation of 1.000 may come with an estimate of 65% of the effect)."""
    corrupted, span = exact["corrupted"], (exact["clean"] - exact["corrupted"]) or 1.0
    print(f"attribution patching, from one backward pass of the corrupted run: {HOW}")
    for kind in kinds:
        cells, truth = result[kind], exact.get(kind)
        print(f"\n  {kind}, estimated:")
        name = print_grid(kind, cells, labels, lambda v: (v - corrupted) / span)
        if truth is None:
            continue
        correlation, _ = agreement(truth, cells)
        r = "undefined (a grid is constant)" if correlation is None else f"{correlation:.3f}"
        shares = ", ".join(f"{name(row, column)}: {share:.0%}" for row, column, _, share in recovered(truth, cells, corrupted))
        print(f"  correlation with the exact grid {r}; of the largest exact effects, the estimate recovers "
              + (shares or "nothing (no cell changes the metric)"))
    if not all(kind in exact for kind in kinds):
        print("\n  (--estimate-only: the exact grids were not run)")
    print()


def print_saliency(scores, labels, target_text, versus_text=None):
    """The prompt's tokens with their gradient-times-input scores."""
    metric = f"log P({target_text})" if versus_text is None else f"logit({target_text}) - logit({versus_text})"
    print(f"saliency of {metric} (gradient times input): each prompt token's embedding . the gradient there")
    biggest = max(abs(s) for s in scores) or 1.0
    for label, score in zip(labels, scores):
        bar = ("+" if score >= 0 else "-") * round(abs(score) / biggest * 20)
        print(f"  {label:>14} {score:+.4f} {bar}")
    print()
