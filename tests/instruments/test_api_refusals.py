"""The Python API refuses, in one sentence (a ValueError naming what it takes), every kind, position, head, id or
shape it cannot use, in every public function the README names: no answer to a question nobody asked (a string
of kinds read letter by letter, a target of -1 read as the last token, a grid of None for positions not there)."""
import numpy as np
import pytest

from instruments import steer
from instruments.ablate import ablate
from instruments.attribution_patching import attribution_patching, saliency
from instruments.patch import patching
from instruments.path_patch import path_grid
from instruments.probe import probe
from lessons.backward import backward, metric_gradient


@pytest.fixture(scope="module")
def runs(tiny, tok):
    params, config = tiny
    clean, corrupted = tok.encode("The color of the cat is"), tok.encode("The color of the dog is")
    return params, config, probe(clean, params, config), probe(corrupted, params, config), clean, corrupted


def cases(params, config, c, d, a, b):
    n, v, every = len(a), config.vocab_size, list(range(len(a)))
    shorter = probe(b[:-1], params, config)
    yield from [
        ("kinds", lambda: patching(c, d, 5, 6, ["head"], every, params, config)),
        ("kinds", lambda: patching(c, d, 5, 6, "heads", every, params, config)),
        ("kinds", lambda: patching(c, d, 5, 6, {"heads"}, every, params, config)),
        ("target", lambda: patching(c, d, -1, None, ["resid"], every, params, config)),
        ("target", lambda: patching(c, d, v, None, ["resid"], every, params, config)),
        ("target", lambda: patching(c, d, 5.0, None, ["resid"], every, params, config)),
        ("target", lambda: patching(c, d, True, None, ["resid"], every, params, config)),
        ("versus", lambda: patching(c, d, 5, -1, ["resid"], every, params, config)),
        ("versus", lambda: patching(c, d, 5, 5, ["resid"], every, params, config)),
        ("positions", lambda: patching(c, d, 5, None, ["resid"], None, params, config)),
        ("positions", lambda: patching(c, d, 5, None, ["resid"], [], params, config)),
        ("positions", lambda: patching(c, d, 5, None, ["resid"], [n], params, config)),
        ("positions", lambda: patching(c, d, 5, None, ["resid"], [-1], params, config)),
        ("positions", lambda: patching(c, d, 5, None, ["resid"], "01", params, config)),
        ("as many tokens", lambda: patching(c, shorter, 5, None, ["resid"], every[:-1], params, config)),
        ("probes", lambda: patching(a, b, 5, None, ["resid"], every, params, config)),
        ("kinds", lambda: attribution_patching(c, d, 5, None, ["head"], every, params, config)),
        ("kinds", lambda: attribution_patching(c, d, 5, None, "heads", every, params, config)),
        ("positions", lambda: attribution_patching(c, d, 5, None, ["resid"], [], params, config)),
        ("positions", lambda: attribution_patching(c, d, 5, None, ["resid"], [99], params, config)),
        ("positions", lambda: attribution_patching(c, d, 5, None, ["resid"], None, params, config)),
        ("target", lambda: attribution_patching(c, d, -1, None, ["resid"], every, params, config)),
        ("as many tokens", lambda: attribution_patching(c, shorter, 5, None, ["resid"], every[:-1], params, config)),
        ("target", lambda: saliency(c, v, None, params, config)),
        ("versus", lambda: saliency(c, 5, -1, params, config)),
        ("receiver", lambda: path_grid("x", c, d, lambda x: x, params, config)),
        ("receiver", lambda: path_grid((1, 0, "z"), c, d, lambda x: x, params, config)),
        ("no head", lambda: path_grid((9, 0, "q"), c, d, lambda x: x, params, config)),
        ("logits [vocab_size]", lambda: metric_gradient(c.logits, 5, None)),
        ("kind probability or logprob", lambda: metric_gradient(c.logits[-1], 5, None, kind="bogus")),
        ("target and versus", lambda: metric_gradient(c.logits[-1], -1, None)),
        ("target and versus", lambda: metric_gradient(c.logits[-1], 5, v)),
        ("d_logits of shape", lambda: backward(c, np.zeros(3, np.float32), params, config)),
        ("d_logits of shape", lambda: backward(c, np.zeros((2, v), np.float32), params, config)),
        ("a probe's run", lambda: backward([1, 2], np.zeros(v, np.float32), params, config)),
        ("pairs", lambda: ablate(params, ["1.0"], config)),
        ("pairs", lambda: ablate(params, "1.0", config)),
        ("pairs", lambda: ablate(params, [(1,)], config)),
        ("pairs", lambda: ablate(params, [(0.5, 0)], config)),
        ("no head", lambda: ablate(params, [(-1, 0)], config)),
        ("coefficient", lambda: steer.steering(a, b, 1, 1e300, params, config)),
        ("coefficient", lambda: steer.steering(a, b, 1, float("nan"), params, config)),
        ("a block", lambda: steer.steering(a, b, 1.5, 1, params, config)),
        ("a block", lambda: steer.steering(a, b, config.n_layer, 1, params, config)),
        ("token ids", lambda: steer.steering("ab", "cd", 1, 1, params, config)),
        ("token ids", lambda: probe("hello", params, config)),
        ("token ids", lambda: probe([1.5, 2], params, config)),
        ("token ids", lambda: probe(np.array([[1, 2]]), params, config)),
        ("token ids", lambda: probe([], params, config)),
        ("token ids", lambda: probe([v], params, config)),
    ]


def test_every_call_it_cannot_use_is_one_sentence(runs):
    refused = 0
    for words, call in cases(*runs):
        with pytest.raises(ValueError) as caught:
            call()
        said = str(caught.value)
        assert words in said and "\n" not in said and len(said) < 400, said
        refused += 1
    assert refused == 50


def test_what_it_can_use_it_still_answers(runs):
    params, config, c, d, a, _ = runs
    grid = patching(c, d, 5, 6, ("heads",), np.arange(len(a)), params, config)["heads"]
    assert len(grid) == config.n_layer and all(x is not None for row in grid for x in row)
    assert ablate(params, [[1, 0], (np.int64(0), 1)], config) is not params
