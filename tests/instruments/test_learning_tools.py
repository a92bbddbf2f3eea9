"""The learning tools show the model's own numbers: checked against forward() and the reference."""
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from conftest import STATES_ATOL, TINY, assert_close, json_of, run_main, run_tiny
from model import forward
from instruments.probe import probe
from lessons import score
from lessons.score import perplexity, token_logprobs
from tensor_ops import log_softmax, softmax
from instruments.token_view import describe

PROMPT = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"


def test_show_top_probabilities_are_the_softmax_of_forward(tiny, tok):
    out = json_of(run_tiny(PROMPT, "-n", "4", "--show-top", "5", "--json"))
    ids = out["prompt_ids"]
    assert len(out["show_top"]) == 4
    for step, (top, chosen) in enumerate(zip(out["show_top"], out["generated_ids"])):
        probs = softmax(forward(ids, *tiny)[-1])
        expected = np.argsort(-probs, kind="stable")[:5]
        assert [t[0] for t in top] == expected.tolist()
        np.testing.assert_allclose([t[2] for t in top], probs[expected], rtol=1e-5)
        assert [t[1] for t in top] == [tok.decode([i]) for i in expected]
        assert chosen == top[0][0]  # greedy takes the likeliest
        ids = ids + [chosen]


def test_probe_states_are_the_reference_block_outputs(ref, tiny):
    seen = probe(ref["ids0"].tolist(), *tiny)
    for layer, (ours, theirs) in enumerate(zip(seen.states, ref["states0"])):
        assert_close(ours, theirs, STATES_ATOL, f"residual stream {layer}")


def test_the_last_lens_row_is_the_models_prediction(tiny, tok):
    out = json_of(run_tiny(PROMPT, "-n", "1", "--lens", "--json"))
    params, config = tiny
    assert [row[0] for row in out["lens"]] == list(range(config.n_layer + 1))
    probs = softmax(forward(tok.encode(PROMPT), params, config)[-1])
    layer, token_id, text, prob = out["lens"][-1]
    assert token_id == int(np.argmax(probs)) == out["generated_ids"][0] and text == tok.decode([token_id])
    assert math.isclose(prob, float(probs.max()), rel_tol=1e-5)


def test_attention_rows_sum_to_one_and_see_no_future(tiny, tok):
    seen = probe(tok.encode(PROMPT), *tiny)
    for weights in seen.attention:
        n = weights.shape[-1]
        np.testing.assert_allclose(weights.sum(axis=-1), 1, rtol=1e-5)
        assert (weights[:, np.triu_indices(n, k=1)[0], np.triu_indices(n, k=1)[1]] == 0).all()


def test_the_svg_parses_and_labels_the_prompts_tokens(tmp_path, tok):
    path = tmp_path / "attention.svg"
    out = run_tiny("hello 👋 world", "-n", "0", "--attention", str(path)).stdout
    svg = ET.parse(path).getroot()
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    ids = tok.encode("hello 👋 world")
    for row in describe(ids, tok):
        assert texts.count(row.text) >= 2 * 3, row.text  # row and column label in each of the 3 layers
    assert "'hello'" in texts and "<20 f0 9f 91>" in texts
    assert f"wrote {path}" in out and "block  2:" in out


def test_the_svg_is_not_written_into_a_missing_folder(tmp_path):
    result = run_main("hi", "--model", TINY, "--attention", str(tmp_path / "no" / "a.svg"))
    assert result.returncode == 1 and result.stderr.startswith("error: cannot write") and "Traceback" not in result.stderr


def test_trace_reports_the_configs_shapes(tiny, tok):
    _, config = tiny
    n = len(tok.encode(PROMPT))
    out = run_tiny(PROMPT, "-n", "0", "--trace").stdout
    shapes = {line.split()[0]: re.findall(r"\[[\d, ]+\]", line)[-1] for line in out.splitlines()
              if line.startswith("  ") and re.search(r"\[[\d, ]+\]$", line)}
    d_head = config.n_embd // config.n_head
    assert shapes["x"] == f"[{n}, {config.n_embd}]"
    assert shapes["q,"] == f"[{config.n_head}, {n}, {d_head}]"
    assert shapes["w"] == f"[{config.n_head}, {n}, {n}]"
    assert shapes["m"] == f"[{n}, {config.n_inner}]"
    assert shapes["logits"] == f"[{n}, {config.vocab_size}]"


def test_tokens_shows_spaces_and_the_bytes_of_split_characters():
    out = run_tiny("hello 👋 world", "-n", "0", "--tokens").stdout
    assert "Ġworld" in out and "' world'" in out and "a word keeps the space before it" in out
    assert "<20 f0 9f 91>" in out and "4 of the 5 UTF-8 bytes of ' 👋'" in out
    assert "<8b>" in out and "1 of the 4 UTF-8 bytes of '👋'" in out


@pytest.fixture(params=[None, 5], ids=["ROWS", "ROWS=5"])
def score_rows(request, monkeypatch):
    """As written, then with score.py making logits 5 rows at a time (the tiny model's n_ctx is ROWS)."""
    if request.param:
        monkeypatch.setattr(score, "ROWS", request.param)


def test_sliding_window_perplexity_equals_plain_when_the_text_fits(tiny, tok, score_rows):
    params, config = tiny
    ids = tok.encode(PROMPT)
    assert len(ids) <= config.n_ctx
    plain = log_softmax(forward(ids, params, config))
    expected = [None] + [float(plain[t - 1, ids[t]]) for t in range(1, len(ids))]
    for stride in (None, 1, 7, config.n_ctx - 1):
        got = token_logprobs(ids, params, config, stride)
        # Scoring unembeds only the rows it needs: a product on fewer rows may round differently
        # (identical with NumPy 2.4; 1.9e-6 apart with NumPy 1.22's OpenBLAS).
        assert got[0] is None and np.allclose(got[1:], expected[1:], rtol=0, atol=1e-5)


@pytest.mark.parametrize("stride", [16, 32, 63])
def test_a_long_text_scores_each_token_once_in_the_first_window_reaching_it(tiny, stride, score_rows):
    params, config = tiny
    ids = [int(i) for i in np.random.default_rng(0).integers(0, 50000, 150)]
    logprobs = token_logprobs(ids, params, config, stride)
    for t in range(1, len(ids)):
        start = max(0, -(-(t + 1 - config.n_ctx) // stride)) * stride  # the first window [start, start + n_ctx) holding t
        expected = log_softmax(forward(ids[start:t], params, config))[-1, ids[t]]  # row t-1 predicts t
        assert abs(logprobs[t] - expected) < 1e-4, (t, start)
    assert math.isfinite(perplexity(logprobs))


def test_a_stride_without_overlap_is_refused():
    result = run_main("cat " * 100, "--score", "--stride", "64", "--model", TINY)
    assert result.returncode == 2 and "--stride must be less than the model's context of 64" in result.stderr


def test_score_on_a_long_text_in_the_cli(tiny):
    out = run_tiny("cat " * 100, "--score", "--stride", "16").stdout
    assert "more tokens, scored with a sliding window" in out and out.splitlines()[-1].startswith("perplexity: ")


def test_a_long_prompts_attention_picture_is_capped_and_says_so(tmp_path, monkeypatch):
    import instruments.attention_map as attention_map
    monkeypatch.setattr(attention_map, "MAX_CELLS", 3 * 10 * 10)  # 10 positions per block
    rng = np.random.default_rng(0)
    attention = [rng.random((2, 30, 30)).astype(np.float32) for _ in range(3)]
    labels = [f"t{i}" for i in range(30)]
    note = attention_map.write_svg(str(tmp_path / "a.svg"), attention, labels, "title")
    assert note == f"note: {tmp_path / 'a.svg'} shows the last 10 of the 30 positions only, so that it stays small enough to open"
    texts = [t.text for t in ET.parse(tmp_path / "a.svg").getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "title (the last 10 of 30 positions only)" in texts and "t20" in texts and "t19" not in texts


def test_a_full_length_prompts_picture_on_gpt2_small_shapes_is_small():
    from instruments.attention_map import shown_positions
    assert shown_positions(1024, 12) == 64 and shown_positions(20, 12) == 20 and shown_positions(1024, 48) == 32


def test_the_code_that_trace_prints_is_the_code_it_runs(tiny, tok):
    """Each printed line, with the parameter prefixes and the arguments every call passes (eps, config,
    params, mask) written back, is a line of shape_trace.traced."""
    import inspect
    from instruments import shape_trace
    source = inspect.getsource(shape_trace.traced).split("return [")[0]  # the code, not the rows it prints
    normal = re.sub(r"\bp\.(attn\.|mlp\.)?", "", source)  # p.attn.c_proj -> c_proj, p.ln_1 -> ln_1
    normal = re.sub(r", (eps|config|params|attn)\b", "", normal)  # the arguments every call passes
    normal = normal.replace("after", "x")
    rows = shape_trace.trace(tok.encode(PROMPT), *tiny)
    code = [row["code"].split("#")[0].strip() for row in rows if row["actual"] is not None and row["code"] != "ids"]
    assert len(code) == 8
    for line in code:
        assert line in normal, line


@pytest.mark.parametrize("options, key", [
    (["--tokens"], "tokens"), (["--bpe"], "bpe"), (["--trace"], "trace"), (["--lens"], "lens"), (["--heads"], "heads"),
    (["--copying"], "copying"), (["--attribute"], "attribute"), (["--show-top", "3", "-n", "2"], "show_top"),
    (["--saliency"], "saliency"), (["--why-attends", "1.0"], "why_attends"),
    (["--ablate", "1.0", "--self-repair"], "self_repair"), (["--patch", "The color of the dog"], "patch"),
    (["--patch", "The color of the dog", "--attribution-patching"], "attribution_patching"),
    (["--patch", "The color of the dog", "--path", "logits"], "path"), (["--steer", "dog", "--lens"], "steer")])
def test_json_holds_every_option_under_its_own_name(options, key):
    """--json is one object with everything the terminal shows, each option's under the option's own name (--attribute's
    was "attribution", --show-top's "top", --tokens', --bpe's and --trace's went to stderr only)."""
    result = run_tiny("The color of the cat", *(["-n", "0"] if "-n" not in options else []), *options, "--json")
    assert key in json_of(result), sorted(json_of(result))


def test_json_of_the_learning_tools_is_what_the_terminal_shows(tok):
    report = json_of(run_tiny("hi there", "-n", "0", "--tokens", "--bpe", "--trace", "--json"))
    shown = run_tiny("hi there", "-n", "0", "--tokens", "--bpe", "--trace").stdout
    assert [row["id"] for row in report["tokens"]] == tok.encode("hi there") and report["tokens"][1]["text"] == "' there'"
    assert all(f"{row['entry']:<18} {row['text']:<22} {row['note']}".rstrip() in shown for row in report["tokens"])
    assert report["bpe"]["pieces"] == ["hi", " there"] and report["bpe"]["ids"] == [612]
    assert all(f"(#{merge['rank']})" in shown and " ".join(merge["symbols"]) in shown for merge in report["bpe"]["merges"])
    assert report["trace"][0] == {"code": "ids", "shape": "[n_seq]", "actual": [2]}
    assert all(row["code"] in shown for row in report["trace"])


def test_head_and_copying_scores_are_named():
    report = json_of(run_tiny("The color of the cat", "-n", "0", "--heads", "--copying", "--json"))
    assert set(report["heads"]["scores"][0]) == {"block", "head", "previous", "first", "induction", "duplicate"}
    assert report["copying"]["scores"][5]["block"] == 1 and set(report["copying"]["scores"][5]) == {"block", "head", "score"}
