"""lessons/backward.py and instruments/attribution_patching.py against independent computations.

Each operation's backward against centred finite differences of its forward, in float64 (the same functions:
they keep whatever float type they are given); the whole backward, the estimated patching grids and saliency
against PyTorch's autograd on transformers' GPT-2 (tests/reference/make_gradient_fixtures.py wrote what it computed),
on the tiny checkpoint, the trained induction model and a random checkpoint of another shape.
"""
import os
import shutil

import numpy as np
import pytest

from conftest import GRADIENT_REFERENCE, ROOT, TINY, gradient_runs, json_of, run_main
from instruments.attribution_patching import attribution_patching, saliency
from instruments.patch import KINDS
from instruments.probe import probe
from lessons import backward as bw
from load import load_model
from params import LayerNorm, Linear
from tensor_ops import gelu, layer_norm, linear, softmax

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
REFERENCE = GRADIENT_REFERENCE
FD_STEP = 1e-6
FD_RTOL = 1e-8  # float64, relative to the largest entry (or 1): measured at most 8.1e-10 over every check below


def numeric_gradient(f, x, dy):
    """d sum(f(x) * dy) / dx by centred differences, one entry at a time."""
    dx = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = FD_STEP
        dx[i] = ((f(x + step) * dy).sum() - (f(x - step) * dy).sum()) / (2 * FD_STEP)
    return dx


def close(analytic, numeric):
    scale = max(1.0, float(np.abs(numeric).max()))
    assert np.abs(analytic - numeric).max() <= FD_RTOL * scale, np.abs(analytic - numeric).max()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_linear_and_its_weights(rng):
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dy = rng.standard_normal((2, 3, 5))
    close(bw.linear_backward(dy, Linear(w, b)), numeric_gradient(lambda x: linear(x, Linear(w, b)), x, dy))
    dw, db = bw.linear_weights_backward(dy, x)
    close(dw, numeric_gradient(lambda w: linear(x, Linear(w, b)), w, dy))
    close(db, numeric_gradient(lambda b: linear(x, Linear(w, b)), b, dy))


def test_layer_norm_and_its_weights(rng):
    x, w, b = rng.standard_normal((3, 6)) * 2 + 1, rng.standard_normal(6), rng.standard_normal(6)
    dy, eps = rng.standard_normal((3, 6)), 1e-5
    close(bw.layer_norm_backward(dy, x, LayerNorm(w, b), eps),
          numeric_gradient(lambda x: layer_norm(x, LayerNorm(w, b), eps), x, dy))
    dw, db = bw.layer_norm_weights_backward(dy, x, eps)
    close(dw, numeric_gradient(lambda w: layer_norm(x, LayerNorm(w, b), eps), w, dy))
    close(db, numeric_gradient(lambda b: layer_norm(x, LayerNorm(w, b), eps), b, dy))
    # not a scaling: one output depends on every entry of its vector (through the mean and the variance)
    one_output = np.zeros((3, 6))
    one_output[0, 0] = 1.0
    assert np.count_nonzero(bw.layer_norm_backward(one_output, x, LayerNorm(w, b), eps)[0]) == 6


def test_gelu_and_softmax(rng):
    x, dy = rng.standard_normal((4, 7)) * 3, rng.standard_normal((4, 7))
    close(bw.gelu_backward(dy, x), numeric_gradient(gelu, x, dy))
    close(bw.softmax_backward(dy, softmax(x)), numeric_gradient(softmax, x, dy))


def test_attention_weights_and_attend(rng):
    from attention import attention_weights, causal_mask
    q, k, v = (rng.standard_normal((2, 5, 3)) for _ in range(3))
    mask = causal_mask(5).astype(np.float64)
    weights = attention_weights(q, k, mask)
    d_weights, d_out = rng.standard_normal((2, 5, 5)), rng.standard_normal((2, 5, 3))
    dq, dk = bw.attention_weights_backward(d_weights, weights, q, k)
    close(dq, numeric_gradient(lambda q: attention_weights(q, k, mask), q, d_weights))
    close(dk, numeric_gradient(lambda k: attention_weights(q, k, mask), k, d_weights))
    dp, dv = bw.attend_backward(d_out, weights, v)
    close(dp, numeric_gradient(lambda p: p @ v, weights, d_out))
    close(dv, numeric_gradient(lambda v: weights @ v, v, d_out))


def test_embedding_and_unembedding(tiny):
    import dataclasses
    from model import embed, unembed
    params, config = tiny
    params64 = dataclasses.replace(params, wte=params.wte[:, :].astype(np.float64), wpe=params.wpe.astype(np.float64),
                                   ln_f=LayerNorm(params.ln_f.weight.astype(np.float64), params.ln_f.bias.astype(np.float64)))
    rng = np.random.default_rng(1)
    ids, dx = [5, 9, 5], rng.standard_normal((3, config.n_embd))
    d_wte, d_wpe = bw.embed_backward(dx, ids, params64)
    assert np.allclose(d_wte[5], dx[0] + dx[2]) and np.allclose(d_wte[9], dx[1]) and np.count_nonzero(d_wte.any(1)) == 2
    assert np.allclose(d_wpe[:3], dx) and not d_wpe[3:].any()
    x, d_logits = rng.standard_normal(config.n_embd), rng.standard_normal(config.vocab_size)
    close(bw.unembed_backward(d_logits, x, params64, config),
          numeric_gradient(lambda x: unembed(x, params64, config), x, d_logits))


def test_the_metrics_gradients(rng):
    logits = rng.standard_normal(10)
    for kind, f in (("logprob", lambda z: np.log(softmax(z))[3]), ("probability", lambda z: softmax(z)[3])):
        value, d = bw.metric_gradient(logits, 3, kind=kind)
        assert value == pytest.approx(f(logits))
        close(d, numeric_gradient(lambda z: np.array(f(z)), logits, np.array(1.0)))
    value, d = bw.metric_gradient(logits, 3, 7)
    assert value == pytest.approx(logits[3] - logits[7]) and d[3] == 1 and d[7] == -1 and np.count_nonzero(d) == 2


# float32 here against PyTorch's float32 autograd (both then in float64), measured: the largest difference over
# every point, relative to that point's largest gradient, 1.8e-6 (tiny), 1.2e-5 (induction), 4.2e-6 (random)
GRADIENT_RTOL = 1e-4
# the estimated grids and saliency, in the metric's units; the largest differences measured over every kind, all
# positions and a list of three: P(target) grids 5.9e-8, 2.6e-9, 7.0e-9 and saliency 7.6e-7, 3.4e-7, 4.1e-9 (tiny,
# induction, random); logit-difference grids 3.9e-7, 5.6e-6, 6.0e-7 and saliency 1.9e-7, 1.2e-5, 8.5e-8
GRID_ATOL = {"prob": 1e-5, "diff": 1e-4}
SALIENCY_RTOL = 1e-4  # log P(target)'s saliency, relative to its largest score; measured 1.6e-6, 1.0e-5, 8.3e-6


@pytest.mark.parametrize("name", ["tiny", "induction", "random"])
def test_the_whole_backward_is_autograds(gradient_models, name):
    params, config = load_model(gradient_models[name])
    ids, target = REFERENCE[f"{name}/ids"].tolist(), int(REFERENCE[f"{name}/target"])
    seen = probe(ids, params, config)
    _, d_logits = bw.metric_gradient(seen.logits[-1], target, kind="logprob")
    grads = bw.backward(seen, d_logits, params, config)
    assert grads.states[0].dtype == np.float32 and grads.embedding is grads.states[0]
    for point, ours in (("resid", grads.states), ("attn", grads.attn), ("mlp", grads.mlp), ("heads", grads.heads),
                        ("pattern", grads.pattern), ("values", grads.values)):
        expected = REFERENCE[f"{name}/logprob/{point}"]
        assert np.array(ours).shape == expected.shape, point
        scale = np.abs(expected).max()
        assert np.abs(np.array(ours) - expected).max() <= GRADIENT_RTOL * scale, (point, np.abs(np.array(ours) - expected).max() / scale)


def grid_array(grid):
    return np.array([[np.nan if v is None else v for v in row] for row in grid])


@pytest.mark.parametrize("name", ["tiny", "induction", "random"])
@pytest.mark.parametrize("metric", ["prob", "diff"])
def test_the_estimated_grids_and_saliency_are_the_references(gradient_models, name, metric):
    params, config, clean, bad, target, versus = gradient_runs(gradient_models[name], name, metric)
    ids = REFERENCE[f"{name}/ids"].tolist()
    for prefix, positions in (("", range(len(ids))), ("part_", [5, 1, 2])):
        got = attribution_patching(clean, bad, target, versus, KINDS, list(positions), params, config)
        for kind in KINDS:
            expected, ours = REFERENCE[f"{name}/{metric}/{prefix}{kind}"], grid_array(got[kind])
            assert np.array_equal(np.isnan(ours), np.isnan(expected)), kind
            assert np.nanmax(np.abs(ours - expected)) <= GRID_ATOL[metric], (kind, prefix, np.nanmax(np.abs(ours - expected)))
    ours = np.array(saliency(clean, target, versus, params, config))
    if metric == "diff":
        assert np.abs(ours - REFERENCE[f"{name}/saliency_diff"]).max() <= GRID_ATOL[metric]
    else:  # saliency follows log P(target): the embeddings' output, in float64, times autograd's gradient there
        embedding = params.wte[ids].astype(np.float64) + params.wpe[:len(ids)]
        expected = (embedding * REFERENCE[f"{name}/logprob/resid"][0]).sum(axis=-1)
        assert np.abs(ours - expected).max() <= SALIENCY_RTOL * np.abs(expected).max()


def test_the_command_line_gives_both_grids_and_saliency():
    prompt, corrupted = "The color of the cat is yellow", "The color of the dog is yellow"
    out = json_of(run_main(prompt, "-n", "0", "--model", TINY, "--patch", corrupted, "--patch-at", "resid,heads",
                           "--attribution-patching", "--saliency", "--json"))
    assert set(out["attribution_patching"]) == {"target", "versus", "resid", "heads"} and set(out["patch"]) >= {"resid", "heads"}
    assert set(out["saliency"]) == {"metric", "target", "versus", "scores"} and out["saliency"]["metric"] == "log probability"
    assert len(out["saliency"]["scores"]) == len(out["prompt_ids"])
    assert out["saliency"]["target"] == out["patch"]["target"] == out["attribution_patching"]["target"]
    assert [row is None for row in out["attribution_patching"]["resid"][0]] == [v is None for v in out["patch"]["resid"][0]]
    result = run_main(prompt, "-n", "0", "--model", TINY, "--attribution-patching")
    assert result.returncode == 2 and "--attribution-patching estimates --patch's grids: give --patch CORRUPTED too" in result.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium; .ci/run installs it)")
def test_in_a_browser_each_estimate_sits_beside_its_exact_grid_and_saliency_shades_the_tokens(tmp_path):
    """The --report page of the induction model: every estimated cell is the JSON's, its title names the exact cell's
    value and the error, and each prompt token carries its saliency."""
    import re
    import subprocess
    from instruments.page.data import rounded
    model = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
    path = tmp_path / "page.html"
    out = json_of(run_main("<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "-n", "0", "--model", model, "--patch",
                           "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk", "--patch-at", "resid,heads", "--attribution-patching",
                           "--saliency", "--report", str(path), "--json"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'data-ready="yes"' in dom and '<div id="errors" role="alert"></div>' in dom
    exact, estimate = out["patch"]["heads"], out["attribution_patching"]["heads"]
    table = re.search('<table id="estimate-heads".*?</table>', dom, re.S).group(0)
    cells = re.findall(r'<td title="head (\d+)\.(\d+): P\(\'b\'\) = ([0-9.]+), (-?\d+)% of the difference; exact ([0-9.]+), '
                       r'error (-?[0-9.]+)"', table)
    assert len(cells) == len(exact) * len(exact[0])
    clean, corrupted = out["patch"]["clean"], out["patch"]["corrupted"]
    for b, h, shown, share, shown_exact, error in cells:
        b, h = int(b), int(h)
        assert float(shown) == pytest.approx(estimate[b][h], abs=6e-4) and float(shown_exact) == pytest.approx(exact[b][h], abs=6e-4)
        assert int(share) == round((estimate[b][h] - corrupted) / (clean - corrupted) * 100)
        assert float(error) == pytest.approx(estimate[b][h] - exact[b][h], abs=1e-3)
    assert re.search('<table id="estimate-resid"', dom) and "Correlation of the estimate with the exact grid" in dom
    shaded = [float(v) for v in re.findall(r'class="tok"[^>]*data-saliency="([^"]+)"', dom)]
    assert shaded == rounded(out)["saliency"]["scores"], "the page's data rounds its numbers to what the eye can see"

