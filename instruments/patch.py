"""--patch CORRUPTED: activation patching (causal tracing). Where does the information travel?

Two prompts of the same length that differ in a detail: the clean one ("... is yellow ...") and a
corrupted one ("... is green ..."). The clean run gives the target (" yellow") a high probability,
the corrupted run a low one. Now run the corrupted prompt again, but at one layer i and one position
t replace the residual stream with the clean run's, and let the remaining blocks compute as usual.
If the probability comes back, everything the model needed from the difference was, at that point,
in that one vector. The grid of all (i, t) shows the information's path: at layer 0 it sits at the
changed token, and where the grid lights up further down shows when attention moved it elsewhere.

The residual stream is where this can be done, because it is the only thing a block passes on: the
blocks from i on see the patched stream and nothing else of the corrupted run.
"""
import numpy as np

from attention import causal_mask
from config import Config
from instruments.probe import probe
from layer import block
from model import unembed
from params import GPT2
from tensor_ops import softmax


def target_probability(x, target, params: GPT2, config: Config):
    """The probability of `target` as the next token, read from the final stream [n_seq, n_embd]."""
    return float(softmax(unembed(x[-1], params, config))[target])


def patch_grid(clean_ids, corrupted_ids, target, params: GPT2, config: Config):
    """{"target", "clean", "corrupted", "grid"}: grid[i][t] is the target's probability when the
    corrupted run takes the clean stream at layer i, position t."""
    assert len(clean_ids) == len(corrupted_ids), "patching swaps vectors position for position"
    clean = probe(clean_ids, params, config).states  # n_layer + 1 arrays [n_seq, n_embd]
    corrupted = probe(corrupted_ids, params, config).states
    mask = causal_mask(len(clean_ids))
    grid = []
    for layer in range(config.n_layer + 1):
        row = []
        for t in range(len(clean_ids)):
            x = corrupted[layer].copy()
            x[t] = clean[layer][t]  # the patch
            for p in params.h[layer:]:  # the blocks after layer `layer`, as forward runs them
                x = block(x, p, config, mask)
            row.append(target_probability(x, target, params, config))
        grid.append(row)
    return {"target": target, "clean": target_probability(clean[-1], target, params, config),
            "corrupted": target_probability(corrupted[-1], target, params, config), "grid": grid}


SHADES = " .:-=+*#%@"  # 0 .. 1 of the way from the corrupted probability to the clean one


def print_patch(result, labels, target_text):
    clean, corrupted = result["clean"], result["corrupted"]
    print(f"activation patching: P({target_text}) is {clean:.2%} in the clean run and {corrupted:.2%} in the "
          "corrupted one;\neach cell: the corrupted run with the clean residual stream at that layer and "
          f"position ({SHADES[0]!r} none of the difference back, {SHADES[-1]!r} all of it)")
    span = clean - corrupted or 1.0
    width = max(len(label) for label in labels)
    for t, label in enumerate(labels):
        cells = "".join(SHADES[int(np.clip((row[t] - corrupted) / span, 0, 1) * (len(SHADES) - 1))]
                        for row in result["grid"])
        best = max(row[t] for row in result["grid"])
        print(f"  {label:>{width}} |{cells}|  best {best:.2%}")
    print(f"  {'':>{width}}  layers 0 (embeddings) to {len(result['grid']) - 1} (after the last block), left to right")
    print()
