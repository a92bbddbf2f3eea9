"""The instruments and experiments against transformers (tests/reference/make_experiment_fixtures.py).

Every expected number here was computed by transformers with PyTorch hooks on the tiny checkpoint,
never by this project's code. Tolerances sit just above the largest difference measured.
"""
import os

import numpy as np
import pytest

import attention
from conftest import LOGITS_ATOL, ROOT, assert_close, json_of, run_tiny
from generate import generate
from instruments.ablate import ablate
from instruments.attention_map import summary
from instruments.attribute import attribute
from instruments.head_roles import head_scores
from instruments.logit_lens import lens_grid, logit_lens
from instruments.patch import patching
from instruments.probe import probe
from instruments.token_view import describe
from lessons.kv_cache import cached_step
from lessons.score import token_logprobs
from model import forward

EXPERIMENTS = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2-experiments.npz")
PATTERN_ATOL = 5e-7  # attention weights and head scores, in [0, 1]: measured 2.7e-7
LENS_ATOL = 1e-5  # lens probabilities, from logits of size up to 20 read at every layer: measured 6.0e-6
PROB_ATOL = 1e-6  # the target's probability in the patching runs: measured 3.4e-7 (NumPy 2.4), 5.1e-7 (NumPy 1.22)
LOGPROB_ATOL = 1e-5  # log-probabilities of size up to 26: measured 7.6e-6
ATTRIBUTION_ATOL = 3e-6  # contributions of size up to 11, and their sum against the logit: measured 2.0e-6


@pytest.fixture(scope="module")
def exp():
    with np.load(EXPERIMENTS) as f:
        return dict(f)


def ids_of(exp):
    return exp["ids"].tolist()


def test_the_probe_is_forward(tiny, tok, exp, query_rows):
    """Bit for bit while attention.attend takes the prompt in one slice (up to QUERY_ROWS tokens);
    beyond, attend sums in another order: float32 round-off. Each path is within LOGITS_ATOL of transformers,
    so they may be twice that apart (measured 8.1e-6 with NumPy 2.4, 1.1e-5 with 1.22, slices of 3)."""
    for text in ("Hello", "hello 👋 world 🌍", str(exp["prompt"])):
        ids = tok.encode(text)
        ours, expected = probe(ids, *tiny).logits, forward(ids, *tiny)
        if len(ids) <= attention.QUERY_ROWS:
            assert np.array_equal(ours, expected), text
        else:
            assert_close(ours, expected, 2 * LOGITS_ATOL, f"probe logits of {text!r}")


def test_every_heads_pattern_is_transformers(tiny, exp):
    seen = probe(ids_of(exp), *tiny)
    for n_block, weights in enumerate(seen.attention):
        assert_close(weights, exp["attention"][n_block], PATTERN_ATOL, f"attention of block {n_block} [head, row, column]")


def test_every_lens_row_is_transformers_ln_f_and_lm_head(tiny, tok, exp):
    rows = logit_lens(probe(ids_of(exp), *tiny), *tiny, tok)
    assert [r[0] for r in rows] == list(range(tiny[1].n_layer + 1))
    for layer, token_id, text, prob in rows:
        assert token_id == exp["lens_ids"][layer, -1, 0], f"layer {layer}"
        assert abs(prob - exp["lens_probs"][layer, -1, 0]) <= LENS_ATOL, f"layer {layer}: {prob} vs {exp['lens_probs'][layer, -1, 0]}"
        assert text == tok.decode([token_id])


def test_the_lens_grid_at_every_layer_and_position_is_transformers(tiny, exp):
    ids, probs = lens_grid(probe(ids_of(exp), *tiny), *tiny)
    assert np.array_equal(ids, exp["lens_ids"]), "the top 5 tokens at every layer and position"
    assert_close(probs, exp["lens_probs"], LENS_ATOL, "lens probabilities [layer, position, rank]")


def test_the_attention_summary_reads_the_last_positions_row(tiny, tok, exp):
    ids = ids_of(exp)
    labels = [row.text for row in describe(ids, tok)]
    lines = summary(probe(ids, *tiny).attention, labels)
    for n_block, line in enumerate(lines[1:]):
        row = exp["attention"][n_block][:, -1].mean(axis=0)  # the last position, averaged over heads
        best = np.argsort(-row, kind="stable")[:3]
        expected = "  ".join(f"{labels[j]} (#{j}) {row[j]:.0%}" for j in best)
        assert line == f"  block {n_block:>2}: {expected}"


def test_ablation_matches_transformers_with_hooks(tiny, exp):
    params, config = tiny
    ablated = ablate(params, [tuple(h) for h in exp["ablated"]], config)
    ids = ids_of(exp)
    scored = token_logprobs(ids, ablated, config)
    assert_close(np.array(scored[1:]), exp["ablated_logprobs"][1:], LOGPROB_ATOL, "ablated log-probabilities")
    expected = exp["ablated_greedy_ids"].tolist()
    assert list(generate(ids, ablated, config, len(expected))) == expected
    step = cached_step(ablated, config, len(ids) + len(expected))
    assert list(generate(ids, ablated, config, len(expected), next_logits=step)) == expected
    assert list(generate(ids, params, config, len(expected))) != expected, "the ablation must change something"


def test_ablating_no_head_is_the_plain_model(tiny, exp):
    params, config = tiny
    assert np.array_equal(forward(ids_of(exp), ablate(params, [], config), config), forward(ids_of(exp), params, config))


def test_ablation_in_the_weights_is_the_head_output_set_to_zero(tiny, exp):
    """The lesson of ablate.py: zero rows of c_proj.weight == a zero head output, bit for bit."""
    params, config = tiny
    d_head = config.n_embd // config.n_head
    seen = probe(ids_of(exp), params, config)
    n_block, head = 1, 2
    merged = seen.heads[n_block].transpose(1, 0, 2).reshape(len(ids_of(exp)), config.n_embd).copy()
    merged[:, head * d_head:(head + 1) * d_head] = 0
    c_proj = ablate(params, [(n_block, head)], config).h[n_block].attn.c_proj
    plain = params.h[n_block].attn.c_proj
    full = seen.heads[n_block].transpose(1, 0, 2).reshape(len(ids_of(exp)), config.n_embd)
    assert np.array_equal(full @ c_proj.weight, merged @ plain.weight)


def patch_grid(clean_ids, corrupted_ids, target, params, config):
    """The residual-stream grid of --patch, probability metric, every position."""
    return patching(probe(clean_ids, params, config), probe(corrupted_ids, params, config), target, None, ["resid"],
                    list(range(len(clean_ids))), params, config)


def test_the_patch_grid_is_transformers(tiny, tok, exp):
    result = patch_grid(ids_of(exp), tok.encode(str(exp["corrupted"])), int(exp["target"]), *tiny)
    assert abs(result["clean"] - exp["patch_clean"]) <= PROB_ATOL
    assert abs(result["corrupted"] - exp["patch_corrupted"]) <= PROB_ATOL
    assert_close(np.array(result["resid"]), exp["patch_grid"], PROB_ATOL, "patch grid [layer, position]")


def test_patching_identities(tiny, tok, exp):
    clean, corrupted = ids_of(exp), tok.encode(str(exp["corrupted"]))
    result = patch_grid(clean, corrupted, int(exp["target"]), *tiny)
    same = [t for t in range(len(clean)) if clean[t] == corrupted[t]]
    assert all(result["resid"][0][t] == result["corrupted"] for t in same), "at layer 0 an unchanged token changes nothing"
    # The grid's runs are unembedded together (one product of many rows), the clean run alone: they can be
    # float32 round-off apart (measured 1.9e-7).
    assert abs(result["resid"][-1][-1] - result["clean"]) <= PROB_ATOL, "the last position after the last block is the clean answer"
    assert result["clean"] != result["corrupted"]


def test_the_attribution_is_transformers_and_adds_up_to_the_logit(tiny, exp):
    params, config = tiny
    logit, parts = attribute(probe(ids_of(exp), params, config), int(exp["target"]), params, config)
    assert [label for label, _ in parts] == exp["attribution_labels"].tolist()
    assert_close(np.array([v for _, v in parts]), exp["attribution_values"], ATTRIBUTION_ATOL, "attribution parts")
    assert abs(logit - float(exp["attribution_logit"])) <= ATTRIBUTION_ATOL
    assert abs(sum(v for _, v in parts) - logit) <= ATTRIBUTION_ATOL, "the parts add up to the logit"


def test_head_scores_are_transformers(tiny, tok, exp):
    params, config = tiny
    sequence, period, scores = head_scores(probe(ids_of(exp), params, config), params, config, tok.eos_id)
    assert sequence == exp["heads_sequence"].tolist() and period == 31
    expected = exp["heads_scores"].reshape(-1, 3)
    assert [(s.block, s.head) for s in scores] == [(b, h) for b in range(config.n_layer) for h in range(config.n_head)]
    assert_close(np.array([[s.previous, s.first, s.induction] for s in scores]), expected, PATTERN_ATOL,
                 "head scores [head, role]")


def test_the_cli_json_has_exactly_the_experiments_keys(exp):
    prompt, corrupted = str(exp["prompt"]), str(exp["corrupted"])
    out = run_tiny(prompt, "-n", "2", "--json", "--ablate", "2.3,0.1", "--patch", corrupted, "--attribute", "--heads")
    report = json_of(out)
    assert report["ablate"] == [[0, 1], [2, 3]] and report["ablate_with"] == "zero"
    assert set(report["patch"]) == {"target", "versus", "metric", "clean", "corrupted", "resid"}
    assert report["patch"]["versus"] is None and report["patch"]["metric"] == "probability"
    assert set(report["attribute"]) == {"target", "versus", "logit", "parts"}
    assert set(report["heads"]) == {"sequence", "period", "scores"}
    assert report["generated_ids"] == exp["ablated_greedy_ids"][:2].tolist()
    assert "ablated: heads 0.1, 2.3 write nothing" in out.stderr  # --json: the terminal's text goes to stderr


def test_the_cli_experiments_without_ablation_match_the_reference(exp):
    out = run_tiny(str(exp["prompt"]), "-n", "0", "--json", "--patch", str(exp["corrupted"]), "--attribute", "--heads")
    report = json_of(out)
    assert report["patch"]["target"] == report["attribute"]["target"] == int(exp["target"])
    assert_close(np.array(report["patch"]["resid"]), exp["patch_grid"], PROB_ATOL, "CLI patch grid")
    assert_close(np.array([v for _, v in report["attribute"]["parts"]]), exp["attribution_values"], ATTRIBUTION_ATOL,
                 "CLI attribution")
    assert "add up to" in out.stderr and "induction" in out.stderr and "activation patching" in out.stderr


def test_ablation_reaches_the_kv_cache_path_and_score(exp):
    prompt, heads = str(exp["prompt"]), "0.1,2.3"
    naive = json_of(run_tiny(prompt, "-n", "5", "--json", "--ablate", heads))
    cached = json_of(run_tiny(prompt, "-n", "5", "--json", "--ablate", heads, "--kv-cache"))
    assert naive["generated_ids"] == cached["generated_ids"] == exp["ablated_greedy_ids"][:5].tolist()
    scored = json_of(run_tiny(prompt, "--score", "--json", "--ablate", heads))
    assert_close(np.array(scored["logprobs"][1:]), exp["ablated_logprobs"][1:], LOGPROB_ATOL, "CLI ablated --score")


@pytest.mark.parametrize("args, message", [
    (["--ablate", "3.0"], "there is no head 3.0"),
    (["--ablate", "0.4"], "there is no head 0.4"),
    (["--ablate", "1"], "'1' is not a head"),
    (["--ablate", "1.2,x"], "'x' is not a head"),
    (["--ablate", "-1.0"], "is not a head"),
    (["--target", " yellow cat", "--attribute"], "--target must be one token; ' yellow cat' is 2"),
    (["--target", "", "--attribute"], "--target must be one token; '' is 0"),
    (["--patch", "The animal"], "the prompt has 21, 'The animal' has 2"),
    (["--heads"], None),
])
def test_bad_experiment_options_end_in_one_sentence_and_exit_2(exp, args, message):
    prompt = "x" if message is None else str(exp["prompt"])
    result = run_tiny(prompt, *args, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    assert (message or "--heads needs a prompt of at least two tokens") in result.stderr
