"""What PyTorch's float64 autograd gives for every edge's score (edge attribution patching), on the tiny checkpoint,
the trained induction model and a random checkpoint of another shape, for P(target) and the logit difference.

None of it comes from this project's code: the weights are read with safetensors into float64 tensors, and the
forward pass below is written out here, with every receiver given its own copy of the residual stream: each
head's queries, keys and values read (the stream entering their block) + a zero tensor of their own, through
their own ln_1 and their own columns of c_attn; each MLP reads (the stream after its block's attention) + its
own zero; the logits read the final stream + theirs. backward() of the metric in the corrupted run fills each
zero's .grad: the metric's gradient at that receiver's input alone. Each sender's output (the embeddings, a
head's output through its rows of c_proj, an MLP's output) is taken in both runs; an edge's score is the
sender's change dotted with the receiver's gradient, summed over positions.

The inputs (ids, corrupted prompt, target and versus) are those of tests/fixtures/gradient-reference.npz, so
that both references speak of the same runs. Writes tests/fixtures/edge-reference.npz: for each case,
{case}/senders and {case}/receivers (the names, as --edges writes them) and {case}/{prob,diff}/scores
[senders, receivers] (every pair; the test reads those where the sender writes before the receiver reads).

Run it from the project folder, in an environment with torch and safetensors (no transformers needed):
    /tmp/tv/bin/python tests/reference/make_edge_fixtures.py
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/
sys.path.insert(0, HERE)

import checkpoints  # noqa: E402  (tests/checkpoints.py: the random checkpoint, as the tests make it)

OUT = os.path.join(HERE, "fixtures", "edge-reference.npz")
FOLDERS = {"tiny": os.path.join(HERE, "fixtures", "tiny-gpt2"), "induction": os.path.join(HERE, "fixtures", "induction-gpt2"),
           "random": None}
RANDOM_SHAPE = dict(n_layer=2, n_head=3, n_embd=24, n_positions=24, seed=11)  # as make_gradient_fixtures.py
INPUTS = np.load(os.path.join(HERE, "fixtures", "gradient-reference.npz"))


def weights(folder):
    raw = load_file(os.path.join(folder, "model.safetensors"))
    w = {name.removeprefix("transformer."): t.to(torch.float64) for name, t in raw.items()}
    config = json.load(open(os.path.join(folder, "config.json")))
    return w, config


def run(w, config, ids, extra=None):
    """(the last position's logits, {sender: its output [n_seq, n_embd]}); extra: {receiver: a tensor added to that
    receiver's own copy of its input}."""
    n_embd, n_head, eps = config["n_embd"], config["n_head"], config["layer_norm_epsilon"]
    d, n = n_embd // n_head, len(ids)
    extra = extra or {}
    plus = lambda name: extra.get(name, 0.0)  # noqa: E731
    ln = lambda y, name: F.layer_norm(y, (n_embd,), w[f"{name}.weight"], w[f"{name}.bias"], eps)  # noqa: E731
    x = w["wte.weight"][ids] + w["wpe.weight"][:n]
    written = {"embed": x}
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
    for b in range(config["n_layer"]):
        c_attn, bias = w[f"h.{b}.attn.c_attn.weight"], w[f"h.{b}.attn.c_attn.bias"]
        c_proj = w[f"h.{b}.attn.c_proj.weight"]
        outputs = []
        for h in range(n_head):
            def read(part, which):
                cols = slice(part * n_embd + h * d, part * n_embd + (h + 1) * d)
                return ln(x + plus(f"{b}.{h}.{which}"), f"h.{b}.ln_1") @ c_attn[:, cols] + bias[cols]
            q, k, v = read(0, "q"), read(1, "k"), read(2, "v")
            scores = (q @ k.T / math.sqrt(d)).masked_fill(future, float("-inf"))
            outputs.append(torch.softmax(scores, dim=-1) @ v @ c_proj[h * d:(h + 1) * d])
            written[f"{b}.{h}"] = outputs[-1]
        middle = x + sum(outputs) + w[f"h.{b}.attn.c_proj.bias"]
        inner = ln(middle + plus(f"{b}.mlp"), f"h.{b}.ln_2") @ w[f"h.{b}.mlp.c_fc.weight"] + w[f"h.{b}.mlp.c_fc.bias"]
        m = F.gelu(inner, approximate="tanh") @ w[f"h.{b}.mlp.c_proj.weight"] + w[f"h.{b}.mlp.c_proj.bias"]
        written[f"{b}.mlp"] = m
        x = middle + m
    logits = ln(x + plus("logits"), "ln_f")[-1] @ w["wte.weight"].T
    return logits, written


def receivers(config):
    names = []
    for b in range(config["n_layer"]):
        names += [f"{b}.{h}.{which}" for h in range(config["n_head"]) for which in "qkv"] + [f"{b}.mlp"]
    return names + ["logits"]


def case(name, folder):
    w, config = weights(folder)
    ids, corrupted = INPUTS[f"{name}/ids"].tolist(), INPUTS[f"{name}/corrupted"].tolist()
    target, versus = int(INPUTS[f"{name}/target"]), int(INPUTS[f"{name}/versus"])
    out = {}
    with torch.no_grad():
        _, clean = run(w, config, ids)
    for kind in ("prob", "diff"):
        zeros = {r: torch.zeros(len(ids), config["n_embd"], dtype=torch.float64, requires_grad=True)
                 for r in receivers(config)}
        logits, bad = run(w, config, corrupted, zeros)
        metric = torch.softmax(logits, -1)[target] if kind == "prob" else logits[target] - logits[versus]
        metric.backward()
        senders = list(clean)
        out[f"{kind}/scores"] = np.array([[float(((clean[s] - bad[s].detach()) * zeros[r].grad).sum())
                                           for r in zeros] for s in senders])
        out["senders"], out["receivers"] = np.array(senders), np.array(list(zeros))
    print(f"{name}: {len(out['senders'])} senders, {len(out['receivers'])} receivers")
    return {f"{name}/{key}": value for key, value in out.items()}


def main():
    import tempfile
    ref = {"torch_version": np.array(torch.__version__)}
    with tempfile.TemporaryDirectory() as scratch:
        for name, folder in FOLDERS.items():
            if folder is None:
                folder = checkpoints.write(os.path.join(scratch, name), *checkpoints.random_checkpoint(**RANDOM_SHAPE))
            ref.update(case(name, folder))
    np.savez_compressed(OUT, **ref)
    print(f"wrote {OUT} (torch {torch.__version__})")


if __name__ == "__main__":
    sys.exit(main())
