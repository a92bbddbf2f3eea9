"""Patching every component, path patching, mean ablation, copying and duplicate-token scores, against
transformers (tests/reference/make_patching_fixtures.py: PyTorch hooks doing each intervention) on the tiny checkpoint
and on the trained induction model; then the identities that tie the experiments together, and what the
experiments find in the induction model.

No expected number here comes from this project's code. Tolerances sit just above the largest difference
measured (over both models, both metrics, and attention.attend taking 3 queries at a time).
"""
import os

import numpy as np
import pytest

from conftest import ROOT, TINY, json_of, run_tiny
from generate import generate
from instruments.ablate import ablate, mean_outputs
from instruments.copying import copying_scores
from instruments.head_roles import head_scores
from instruments.patch import KINDS, after_attention, head_runs, measure, patching, run_on
from instruments.path_patch import path_grid
from instruments.probe import probe
from lessons.kv_cache import cached_step
from lessons.score import token_logprobs
from load import load_model
from model import forward
from tensor_ops import linear
from tokenizer import load_tokenizer

REFERENCE = os.path.join(ROOT, "tests", "fixtures", "patching-reference.npz")
INDUCTION = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
FOLDERS = {"tiny": TINY, "induction": INDUCTION}
CORRUPTIONS = [("tiny", "green"), ("induction", "copied"), ("induction", "before")]
# The target's probability, in [0, 1]: measured 6.9e-7 with NumPy 2.x, 1.3e-6 with NumPy 1.22. The logit
# difference (logits of size up to 20 on the induction model): measured 7.3e-6, 7.7e-6 with NumPy 1.22.
ATOL = {"probability": 2e-6, "logit difference": 1e-5}
LOGPROB_ATOL = 1e-5  # log-probabilities with heads mean-ablated: measured 4.7e-6
PATTERN_ATOL = 5e-7  # duplicate-token scores, mean attention weights: measured 7.5e-9
IDENTITY_ATOL = 1e-6  # two computations of the same run here, in another order (probability): measured 1.5e-7


@pytest.fixture(scope="module")
def ref():
    with np.load(REFERENCE) as f:
        return dict(f)


@pytest.fixture(scope="module")
def models():
    return {name: (*load_model(folder), load_tokenizer(folder)) for name, folder in FOLDERS.items()}


class Case:
    """One model's reference, with the prompt and the corrupted prompt probed."""

    def __init__(self, ref, models, name, corruption=None):
        self.params, self.config, self.tok = models[name]
        self.r = {key[len(name) + 1:]: value for key, value in ref.items() if key.startswith(name + "/")}
        self.ids = self.r["ids"].tolist()
        self.target, self.versus = int(self.r["target"]), int(self.r["versus"])
        self.clean = probe(self.ids, self.params, self.config)
        self.c = corruption
        if corruption:
            self.corrupted = probe(self.r[f"{corruption}/corrupted_ids"].tolist(), self.params, self.config)

    def expected(self, key, metric):
        return self.r[f"{self.c}/{key}"][..., 0 if metric == "probability" else 1]

    def patching(self, kinds, metric, positions=None):
        versus = None if metric == "probability" else self.versus
        return patching(self.clean, self.corrupted, self.target, versus, kinds, positions or list(range(len(self.ids))),
                        self.params, self.config)


def as_array(cells):
    return np.array([[np.nan if v is None else v for v in row] for row in cells], dtype=float)


def assert_cells(ours, expected, atol, what):
    """The same cells (None where the reference has NaN), and the largest difference within atol."""
    ours = as_array(ours)
    assert ours.shape == expected.shape, f"{what}: shape {ours.shape}, expected {expected.shape}"
    assert np.array_equal(np.isnan(ours), np.isnan(expected)), f"{what}: not the same cells"
    diff = np.nan_to_num(np.abs(ours - expected))
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    assert diff.max() <= atol, (f"{what}: largest difference {diff.max():.3g} at {tuple(map(int, worst))} "
                                f"(got {ours[worst]}, expected {expected[worst]}), tolerance {atol:g}")


@pytest.fixture(params=[None, 3], ids=["QUERY_ROWS", "QUERY_ROWS=3"])
def sliced(request, monkeypatch):
    """As written, then with attention.attend taking 3 queries at a time and patch.py running 20 rows at a time,
    so that the short prompts take the sliced paths too."""
    import attention
    import instruments.patch
    if request.param:
        monkeypatch.setattr(attention, "QUERY_ROWS", request.param)
        monkeypatch.setattr(instruments.patch, "ROWS", 20)


@pytest.mark.parametrize("metric", ["probability", "logit difference"])
@pytest.mark.parametrize("name, corruption", CORRUPTIONS)
def test_every_grid_is_transformers(ref, models, name, corruption, metric, sliced):
    case = Case(ref, models, name, corruption)
    result = case.patching(KINDS, metric)
    assert result["metric"] == metric and result["target"] == case.target
    assert abs(result["clean"] - case.r["clean"][0 if metric == "probability" else 1]) <= ATOL[metric]
    assert abs(result["corrupted"] - case.expected("corrupted", metric)) <= ATOL[metric]
    for kind in KINDS:
        assert_cells(result[kind], case.expected(kind, metric), ATOL[metric],
                     f"{name} {corruption} {kind} ({metric})")


@pytest.mark.parametrize("metric", ["probability", "logit difference"])
@pytest.mark.parametrize("name, corruption", CORRUPTIONS)
def test_grids_on_some_positions_are_transformers(ref, models, name, corruption, metric):
    case = Case(ref, models, name, corruption)
    start, stop = ref["part"]
    result = case.patching(["resid", "heads"], metric, list(range(len(case.ids)))[start:stop])
    assert_cells(result["resid"], case.expected("resid_part", metric), ATOL[metric], "resid, some positions")
    assert_cells(result["heads"], case.expected("heads_part", metric), ATOL[metric], "heads, some positions")


@pytest.mark.parametrize("metric", ["probability", "logit difference"])
@pytest.mark.parametrize("name, corruption", CORRUPTIONS)
def test_path_patching_is_transformers(ref, models, name, corruption, metric, sliced):
    case = Case(ref, models, name, corruption)
    versus = None if metric == "probability" else case.versus
    for receiver in case.r["receivers"].tolist():
        parsed = receiver if receiver == "logits" else (int(receiver[0]), int(receiver[2]), receiver[4])
        cells = path_grid(parsed, case.clean, case.corrupted, measure(case.target, versus, case.params, case.config),
                          case.params, case.config)
        assert_cells(cells, case.expected(f"path_{receiver}", metric), ATOL[metric], f"path to {receiver} ({metric})")


@pytest.mark.parametrize("name", FOLDERS)
def test_mean_ablation_is_transformers_replacing_the_outputs(ref, models, name):
    case = Case(ref, models, name)
    heads = [tuple(h) for h in case.r["mean_ablated"].tolist()]
    ablated = ablate(case.params, heads, case.config, mean_outputs(case.clean, heads))
    scored = token_logprobs(case.ids, ablated, case.config)
    assert np.abs(np.array(scored[1:]) - case.r["mean_logprobs"][1:]).max() <= LOGPROB_ATOL
    expected = case.r["mean_greedy_ids"].tolist()
    assert list(generate(case.ids, ablated, case.config, len(expected))) == expected
    step = cached_step(ablated, case.config, len(case.ids) + len(expected))
    assert list(generate(case.ids, ablated, case.config, len(expected), next_logits=step)) == expected
    assert list(generate(case.ids, case.params, case.config, len(expected))) != expected, "it must change something"
    zeroed = list(generate(case.ids, ablate(case.params, heads, case.config), case.config, len(expected)))
    assert zeroed != expected, "mean and zero ablation are different experiments"


@pytest.mark.parametrize("name", FOLDERS)
def test_copying_and_duplicate_token_scores_are_transformers(ref, models, name):
    case = Case(ref, models, name)
    scores = copying_scores(case.ids, case.clean, case.params, case.config)
    n_layer, n_head = case.config.n_layer, case.config.n_head
    assert [(s.block, s.head) for s in scores] == [(b, h) for b in range(n_layer) for h in range(n_head)]
    assert np.array_equal(np.array([s.score for s in scores]).reshape(n_layer, n_head), case.r["copying"])
    sequence, _, roles = head_scores(case.clean, case.params, case.config, case.tok.eos_id)
    assert sequence == case.r["duplicate_sequence"].tolist()
    duplicate = np.array([s.duplicate for s in roles]).reshape(n_layer, n_head)
    assert np.abs(duplicate - case.r["duplicate"]).max() <= PATTERN_ATOL


def final_metric(x, case):
    return float(measure(case.target, None, case.params, case.config)(x))


@pytest.mark.parametrize("name, corruption", CORRUPTIONS)
def test_every_head_put_back_is_the_attention_output_put_back_is_pattern_and_values(ref, models, name, corruption):
    case = Case(ref, models, name, corruption)
    c_proj = lambda n_block: case.params.h[n_block].attn.c_proj  # noqa: E731
    for n_block in range(case.config.n_layer):
        def finish(a):  # the corrupted run, block n_block's attention adding a at every position
            x = after_attention(a, n_block, 0, case.corrupted, case.params, case.config)
            return final_metric(run_on(x, n_block + 1, 0, case.corrupted, case.params, case.config), case)
        from attention import merge_heads
        attention_output = finish(case.clean.attn[n_block])
        every_head = finish(linear(merge_heads(case.clean.heads[n_block]), c_proj(n_block)))
        pattern_and_values = finish(linear(merge_heads(case.clean.attention[n_block] @ case.clean.v[n_block]),
                                           c_proj(n_block)))
        assert abs(every_head - attention_output) <= IDENTITY_ATOL
        assert abs(pattern_and_values - attention_output) <= IDENTITY_ATOL


@pytest.mark.parametrize("name, corruption", CORRUPTIONS)
def test_path_patching_to_the_logits_from_the_last_block_is_the_total_effect(ref, models, name, corruption):
    """Nothing after the last block can be frozen: the path is all of the head's effect."""
    case = Case(ref, models, name, corruption)
    last = case.config.n_layer - 1
    metric = measure(case.target, None, case.params, case.config)
    path = path_grid("logits", case.clean, case.corrupted, metric, case.params, case.config)[last]
    total = metric(head_runs(case.corrupted.heads[last], last, case.clean, case.params, case.config))  # run h: head h corrupted
    assert np.abs(np.array(path) - total).max() <= IDENTITY_ATOL, (path, total)
    if name == "induction":
        assert min(path) < case.r["clean"][0] - 0.1, "the identity must be tested where a head matters"


@pytest.mark.parametrize("name", FOLDERS)
def test_mean_ablation_of_a_one_token_prompt_changes_nothing(models, name):
    params, config, tok = models[name]
    heads = [(b, h) for b in range(config.n_layer) for h in range(config.n_head)]
    for ids in ([tok.eos_id], tok.encode("x")):
        means = mean_outputs(probe(ids, params, config), heads)  # a head's mean over one position is its output
        ablated = forward(ids, ablate(params, heads, config, means), config)
        assert np.abs(ablated - forward(ids, params, config)).max() <= 1e-5  # float32 round-off; measured 1.9e-6


def test_mean_ablation_in_the_weights_is_the_mean_output_through_c_proj(models):
    params, config, tok = models["tiny"]
    ids = tok.encode("The animal is yellow. It's a cat.")
    seen = probe(ids, params, config)
    n_block, head = 1, 2
    means = mean_outputs(seen, [(n_block, head)])
    heads = seen.heads[n_block].copy()
    heads[head] = means[n_block, head]  # the head outputs its mean at every position
    from attention import merge_heads
    replaced = linear(merge_heads(heads), params.h[n_block].attn.c_proj)
    in_weights = linear(merge_heads(seen.heads[n_block]), ablate(params, [(n_block, head)], config, means).h[n_block].attn.c_proj)
    assert np.abs(replaced - in_weights).max() <= 1e-6, "the same terms, added in another order"
    assert np.abs(replaced - seen.attn[n_block]).max() > 1e-3, "and the head's output did change"


# What the experiments find in the induction model (tests/reference/train_induction_model.py): block 0's head 0.2 copies
# the previous token into each position; block 1's heads 1.0 and 1.1 look for the position after the earlier
# occurrence of the current token and copy what stands there.

def ranked(cells, top=2):
    flat = [(v, b, h) for b, row in enumerate(cells) for h, v in enumerate(row) if v is not None]
    return [(b, h) for _, b, h in sorted(flat, reverse=True)[:top]]


def test_with_the_copied_byte_corrupted_the_induction_heads_carry_it_through_their_values(ref, models):
    case = Case(ref, models, "induction", "copied")
    result = case.patching(["heads", "pattern", "values"], "logit difference")
    clean, corrupted = result["clean"], result["corrupted"]
    share = lambda cells: (np.array(cells) - corrupted) / (clean - corrupted)  # noqa: E731
    assert sorted(ranked(result["heads"])) == [(1, 0), (1, 1)]
    assert share(result["heads"])[1, :2].min() > 0.4  # measured 0.45 and 0.54
    assert sorted(ranked(result["values"])) == [(1, 0), (1, 1)]
    assert np.abs(share(result["values"]) - share(result["heads"])).max() < 0.05, "all of it through the values"
    assert np.abs(share(result["pattern"])).max() < 0.01, "the pattern is the same in both runs"


def test_with_the_byte_before_it_corrupted_path_patching_to_the_induction_heads_keys_names_the_previous_token_head(
        ref, models):
    case = Case(ref, models, "induction", "before")
    metric = measure(case.target, case.versus, case.params, case.config)
    keys = path_grid((1, 0, "k"), case.clean, case.corrupted, metric, case.params, case.config)
    clean = float(metric(case.clean.states[-1][-1]))
    effects = sorted((clean - v, b, h) for b, row in enumerate(keys) for h, v in enumerate(row) if v is not None)
    assert (effects[-1][1], effects[-1][2]) == (0, 2), effects
    assert effects[-1][0] > 5 and effects[-2][0] < 0.1, effects  # measured 9.74, and at most 0.0 for the others
    queries = path_grid((1, 0, "q"), case.clean, case.corrupted, metric, case.params, case.config)
    assert max(clean - v for v in queries[0]) < 0.1, "where the induction head looks is decided by its keys"


def test_the_induction_heads_copy_what_they_attend_to(ref, models):
    case = Case(ref, models, "induction")
    scores = {(b, h): s for b, h, s in copying_scores(case.ids, case.clean, case.params, case.config)}
    assert sorted(scores, key=lambda head: -scores[head])[:2] == [(1, 0), (1, 1)]
    assert scores[1, 0] > 0.9 and max(s for (b, _), s in scores.items() if b == 0) < 0.2  # measured 0.96; 0.09


def test_the_cli_json_has_exactly_the_keys_and_the_references_numbers(ref):
    r = {key[10:]: value for key, value in ref.items() if key.startswith("induction/")}
    prompt, corrupted = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"
    report = json_of(run_tiny(prompt, "-n", "0", "--json", "--patch", corrupted, "--patch-at", "values,resid,heads",
                           "--versus", "t", "--path", "1.0.v", "--copying", "--heads", model=INDUCTION))
    assert set(report["patch"]) == {"target", "versus", "metric", "clean", "corrupted", "resid", "heads", "values"}
    assert (report["patch"]["target"], report["patch"]["versus"]) == (int(r["target"]), int(r["versus"]))
    assert report["patch"]["metric"] == "logit difference"
    assert_cells(report["patch"]["heads"], r["copied/heads"][..., 1], ATOL["logit difference"], "CLI heads")
    assert_cells(report["patch"]["resid"], r["copied/resid"][..., 1], ATOL["logit difference"], "CLI resid")
    assert report["path"]["receiver"] == [1, 0, "v"] and set(report["path"]) == {"target", "versus", "receiver", "grid"}
    assert (report["path"]["target"], report["path"]["versus"]) == (int(r["target"]), int(r["versus"]))
    assert_cells(report["path"]["grid"], r["copied/path_1.0.v"][..., 1], ATOL["logit difference"], "CLI path")
    assert report["copying"]["k"] == 5 and len(report["copying"]["scores"]) == 8
    assert all(set(row) == {"block", "head", "previous", "first", "induction", "duplicate"} for row in report["heads"]["scores"])
    assert all(set(row) == {"block", "head", "score"} for row in report["copying"]["scores"])
    assert "logits" == json_of(run_tiny(prompt, "-n", "0", "--json", "--patch", corrupted, "--path", "logits",
                                     model=INDUCTION))["path"]["receiver"]


def test_path_alone_computes_no_activation_patching_grid():
    report = json_of(run_tiny("hi there", "-n", "0", "--json", "--patch", "hi here", "--path", "logits"))
    assert set(report["patch"]) == {"target", "versus", "metric", "clean", "corrupted"}


def test_mean_ablation_in_the_cli_reaches_both_paths_and_score(ref):
    r = {key[5:]: value for key, value in ref.items() if key.startswith("tiny/")}
    prompt = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"
    heads = ",".join(f"{b}.{h}" for b, h in r["mean_ablated"].tolist())
    naive = json_of(run_tiny(prompt, "-n", "6", "--json", "--ablate", heads, "--ablate-with", "mean"))
    cached = json_of(run_tiny(prompt, "-n", "6", "--json", "--ablate", heads, "--ablate-with", "mean", "--kv-cache"))
    assert naive["generated_ids"] == cached["generated_ids"] == r["mean_greedy_ids"][:6].tolist()
    assert naive["ablate_with"] == "mean"
    scored = json_of(run_tiny(prompt, "--score", "--json", "--ablate", heads, "--ablate-with", "mean"))
    assert np.abs(np.array(scored["logprobs"][1:]) - r["mean_logprobs"][1:]).max() <= LOGPROB_ATOL


@pytest.mark.parametrize("args, message", [
    (["--patch-at", "heads"], "--patch-at shapes --patch: give --patch CORRUPTED too"),
    (["--path", "logits"], "--path shapes --patch"),
    (["--patch-positions", "2:3"], "--patch-positions shapes --patch"),
    (["--ablate-with", "mean"], "--ablate-with says how --ablate removes heads: give --ablate too"),
    (["--ablate", "1.0", "--ablate-with", "average"], "invalid choice: 'average'"),
    (["--versus", " dog"], "--versus sets what --attribute, --patch, --edges, --saliency and --self-repair measure"),
    (["--patch", "hi here", "--patch-at", "heads,mlps"], "'mlps' cannot be patched: choose among resid, attn, mlp"),
    (["--patch", "hi here", "--patch-positions", "2-3"], "'2-3' is not a range of positions"),
    (["--patch", "hi here", "--patch-positions", "5:9"], "--patch-positions 5:9 holds no position of the prompt's 2"),
    (["--patch", "hi here", "--path", "1.2"], "'1.2' is not a receiver: write logits, or L.H.q"),
    (["--patch", "hi here", "--path", "3.0.q"], "--path: there is no head 3.0"),
    (["--patch", "hi here", "--path", "0.1.k"], "--path needs a receiver after block 0"),
    (["--patch", "hi here", "--versus", " dog cat"], "--versus must be one token; ' dog cat' is 2"),
    (["--patch", "hi here", "--target", " dog", "--versus", " dog"], "--versus must be another token than the target"),
])
def test_bad_values_end_in_one_sentence_and_exit_2(args, message):
    result = run_tiny("hi there", *args, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    assert message in result.stderr, result.stderr


INDUCTION_PROMPT, COPY_CHANGED = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"


@pytest.mark.parametrize("experiment", [["--patch", COPY_CHANGED, "--patch-at", "heads"], ["--saliency"],
                                        ["--attribute"], ["--patch", COPY_CHANGED, "--path", "logits"]],
                         ids=["patch", "saliency", "attribute", "path"])
@pytest.mark.parametrize("changed", [[], ["--ablate", "1.0,1.1"], ["--ablate", "1.0,1.1", "--ablate-with", "mean"],
                                     ["--steer", "tt", "--steer-at", "1", "--steer-coef", "20"]],
                         ids=["as trained", "ablated", "mean ablated", "steered"])
def test_the_followed_token_is_decided_once_on_the_model_the_run_uses(experiment, changed):
    """Once, it was decided on the weights before ablation: with 1.0 and 1.1 removed the model's next token is 'k',
    and --versus k printed logit('k') - logit('k') and a grid of zeros. Now --versus is judged against the next
    token of the model the run uses, whatever changed it, and every experiment's JSON names the token it follows."""
    plain = json_of(run_tiny(INDUCTION_PROMPT, "-n", "0", "--json", *experiment, *changed, model=INDUCTION))
    key = {"--patch": "patch", "--saliency": "saliency", "--attribute": "attribute"}[experiment[0]]
    target = plain[key]["target"]
    refused = run_tiny(INDUCTION_PROMPT, "-n", "0", "--json", *experiment, *changed, "--versus", chr(target),
                       model=INDUCTION, check=False)
    assert refused.returncode == 2 and refused.stdout == "" and "Traceback" not in refused.stderr
    assert refused.stderr.endswith(f"error: --versus must be another token than the target: '{chr(target)}' is the "
                                   "target, the model's next token after the prompt\n"), refused.stderr
    other = "b" if chr(target) != "b" else "k"
    report = json_of(run_tiny(INDUCTION_PROMPT, "-n", "0", "--json", *experiment, *changed, "--versus", other,
                              model=INDUCTION))
    named = [report[k] for k in ("patch", "path", "saliency", "attribute", "attribution_patching") if k in report]
    assert named and all((e["target"], e["versus"]) == (target, ord(other)) for e in named), named


def test_with_heads_removed_the_models_next_token_is_another_and_versus_the_old_one_is_measured():
    """The issue's case: without 1.0 and 1.1 the model predicts 'k', so --versus b (the trained model's answer) is
    a real difference, and --versus k is refused (above)."""
    report = json_of(run_tiny(INDUCTION_PROMPT, "-n", "0", "--json", "--ablate", "1.0,1.1", "--saliency",
                              "--versus", "b", model=INDUCTION))
    assert report["saliency"]["target"] == ord("k") and report["saliency"]["metric"] == "logit difference"
    assert set(report["saliency"]) == {"metric", "target", "versus", "scores"}
    assert len(report["saliency"]["scores"]) == len(report["prompt_ids"])


def test_patch_positions_limits_the_grid_in_the_cli():
    report = json_of(run_tiny("The animal is yellow. It's a cat.", "-n", "0", "--json", "--patch", "The animal is green. It's a cat.",
                           "--patch-positions", "2:5", "--patch-at", "resid,mlp"))
    for grid in (report["patch"]["resid"], report["patch"]["mlp"]):
        assert all([t for t, v in enumerate(row) if v is not None] == [2, 3, 4] for row in grid)
    last = json_of(run_tiny("The animal is yellow. It's a cat.", "-n", "0", "--json", "--patch", "The animal is green. It's a cat.",
                         "--patch-positions=-1"))
    assert all([t for t, v in enumerate(row) if v is not None] == [len(row) - 1] for row in last["patch"]["resid"])


def test_ctrl_c_during_a_long_grid_stops_at_once_and_quietly(slow_model):
    """A 1000-token grid on a small model takes about 8 s; Ctrl-C once the grid is under way (main.py's progress
    bar, made to say so on stderr) ends it quietly, with nothing on stdout. No verdict here waits for seconds:
    scripts/benchmark.py times how soon it ends."""
    import signal
    import subprocess
    import sys
    folder = slow_model
    prompt = "hello " * 999
    said_underway = ("import sys, runpy, plumbing.progress as p\n"
                     "def bar(steps, what):\n"
                     "    for i, step in enumerate(steps):\n"
                     "        if i == 1: print('under way', file=sys.stderr, flush=True)\n"
                     "        yield step\n"
                     "p.progress_bar = bar\n"
                     "sys.argv = sys.argv[1:]\n"
                     "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    process = subprocess.Popen([sys.executable, "-c", said_underway, os.path.join(ROOT, "main.py"), prompt, "--model",
                                folder, "-n", "0", "--patch", prompt.replace("hello", "world", 1)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stderr.readline() == "under way\n"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130 and stderr.endswith("interrupted\n") and "Traceback" not in stderr, stderr
    assert stdout == ""


@pytest.mark.parametrize("metric, clean, corrupted", [("probability", 1.0e-9, 1.3e-9), ("logit difference", 0.5, 0.5004)])
def test_a_share_of_a_difference_too_small_to_divide_by_is_not_printed(capsys, metric, clean, corrupted):
    """A share over a difference near zero printed as 131%, 194%, -187%: float32's noise, shown as a finding."""
    from instruments.patch import print_patch
    from instruments.path_patch import print_path
    result = {"target": 5, "versus": None, "metric": metric, "clean": clean, "corrupted": corrupted,
              "heads": [[clean * 1.3, corrupted * 0.9], [clean, None]]}
    print_patch(result, ["a", "b"], " x")
    print_path({"receiver": "logits", "grid": result["heads"]}, result, " x")
    said = capsys.readouterr().out
    assert said.count("too little to share out, so no cell is shown as a share of it") == 2 and "%)" not in said
    result["corrupted"] = clean - 0.5  # a difference that can be shared out
    print_patch(result, ["a", "b"], " x")
    assert "the best: head" in capsys.readouterr().out
