"""--edges against PyTorch's float64 autograd (tests/reference/make_edge_fixtures.py: a forward pass written there,
each receiver with its own copy of the stream), on three checkpoints, for P(target) and the logit difference; and
each edge's estimate beside its exact path patch on the induction model."""
import os

import numpy as np
import pytest

from conftest import ROOT, gradient_runs, json_of, run_main
from instruments.edges import edges, reaches
from instruments.patch import measure
from instruments.path_patch import path_grid

REFERENCE = np.load(os.path.join(ROOT, "tests", "fixtures", "edge-reference.npz"))
INDUCTION = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
# float32 against float64, relative to the metric's size (the larger of its clean and corrupted values); the largest
# difference over every edge, measured: P(target) 3.7e-7, 2.0e-10, 1.5e-7 and the logit difference 4.5e-7, 2.9e-7,
# 3.2e-7 (tiny, induction, random)
EDGE_RTOL = 1e-4


@pytest.mark.parametrize("name", ["tiny", "induction", "random"])
@pytest.mark.parametrize("metric", ["prob", "diff"])
def test_every_edge_is_autograds(gradient_models, name, metric):
    params, config, clean, bad, target, versus = gradient_runs(gradient_models[name], name, metric)
    result = edges(clean, bad, target, versus, params, config)
    senders, receivers = list(REFERENCE[f"{name}/senders"]), list(REFERENCE[f"{name}/receivers"])
    valid = reaches(senders, receivers, config)
    expected = {(s, r): REFERENCE[f"{name}/{metric}/scores"][i, j] for i, s in enumerate(senders)
                for j, r in enumerate(receivers) if valid[i, j]}
    ours = {(e["from"], e["to"]): e["score"] for e in result["edges"]}
    assert set(ours) == set(expected) and len(ours) == len(result["edges"]), "every edge, once"
    scores = [abs(e["score"]) for e in result["edges"]]
    assert scores == sorted(scores, reverse=True), "the largest first"
    m = measure(target, versus, params, config)
    size = max(abs(float(m(clean.states[-1][-1]))), abs(float(m(bad.states[-1][-1]))))
    worst = max(abs(ours[edge] - expected[edge]) for edge in expected) / size
    assert worst <= EDGE_RTOL, worst
    assert result["metric"] == ("probability" if versus is None else "logit difference") and result["target"] == target


def test_an_edge_is_one_receivers_share_of_the_senders_change():
    """The edges into one receiver add up to that receiver's whole first-order change: (clean - corrupted) of its
    input, which is the sum of every earlier sender's change, dotted with its gradient."""
    from instruments.attribution_patching import gradients
    from instruments.edges import receiver_gradients, sender_outputs
    params, config, clean, bad, target, versus = gradient_runs(INDUCTION, "induction", "diff")
    result = edges(clean, bad, target, versus, params, config)
    _, grads = gradients(bad, target, versus, params, config)
    into = receiver_gradients(bad, grads, params, config)
    for receiver, block in (("1.0.k", 1), ("logits", config.n_layer)):
        whole = float(((clean.states[block] - bad.states[block]) * into[receiver]).sum())
        summed = sum(e["score"] for e in result["edges"] if e["to"] == receiver)
        assert summed == pytest.approx(whole, rel=1e-4, abs=1e-6)
    assert set(sender_outputs(clean, params, config)) == {"embed", "0.mlp", "1.mlp"} | {f"{b}.{h}" for b in range(2)
                                                                                        for h in range(4)}


def test_the_induction_circuits_edges_beside_their_exact_path_patches():
    """Each head's edge into the logits beside what --path gives for the same sender and receiver (the metric of
    the clean run less that of the run whose path from this head is the corrupted one's). In the logit difference
    the estimate finds the same two heads, 1.0 and 1.1, at about half their exact size (measured: 4.20 for 9.28,
    3.19 for 10.87), and in the wrong order; in P(target), saturated at 0.98 and 0.00005, it finds nearly nothing
    (2e-4 for 0.78): the straight line through the corrupted run is flat there. The README shows these numbers."""
    params, config, clean, bad, target, versus = gradient_runs(INDUCTION, "induction", "diff")
    for against in (versus, None):
        found = {(e["from"], e["to"]): e["score"] for e in edges(clean, bad, target, against, params, config)["edges"]}
        metric = measure(target, against, params, config)
        into_logits = path_grid("logits", clean, bad, metric, params, config)
        clean_value = float(metric(clean.states[-1][-1]))
        exact = {f"{b}.{h}": clean_value - into_logits[b][h] for b in range(2) for h in range(4)}
        estimate = {head: found[head, "logits"] for head in exact}
        two = lambda values: set(sorted(values, key=lambda head: -abs(values[head]))[:2])  # noqa: E731
        assert two(exact) == {"1.0", "1.1"}
        if against is not None:
            assert two(estimate) == {"1.0", "1.1"}
            assert all(0.2 < estimate[head] / exact[head] < 0.6 for head in ("1.0", "1.1")), (estimate, exact)
        else:
            assert all(abs(estimate[head]) < 0.01 * exact[head] for head in ("1.0", "1.1")), (estimate, exact)


def test_edges_from_the_command_line():
    prompt, corrupted = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"
    out = json_of(run_main(prompt, "-n", "0", "--model", INDUCTION, "--patch", corrupted, "--edges", "--json"))
    assert set(out["edges"]) == {"target", "versus", "metric", "edges"} and len(out["edges"]["edges"]) == 110
    assert set(out["patch"]) == {"target", "versus", "metric", "clean", "corrupted"}, "--edges alone runs no grid"
    shown = run_main(prompt, "-n", "0", "--model", INDUCTION, "--patch", corrupted, "--edges").stdout
    first = out["edges"]["edges"][0]
    assert f"{first['from']:>7} -> {first['to']:<9}" in shown and "the nodes they join:" in shown
    refused = run_main(prompt, "-n", "0", "--model", INDUCTION, "--edges")
    assert refused.returncode == 2 and "--edges estimates what each edge carries" in refused.stderr
