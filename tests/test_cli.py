"""main.py run as a user runs it, on the tiny checkpoint: streaming, --json, --score, mistakes."""
import json
import math

import numpy as np
import pytest

from conftest import TINY, run_main
from generate import generate
from lessons.score import token_logprobs


def run(*args, env=None):
    return run_main(*args, env=env)


def test_json_reports_the_greedy_ids_and_the_text(tiny, tok):
    result = run("hello 👋 world", "--model", TINY, "-n", "12", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    prompt_ids = tok.encode("hello 👋 world")
    assert out["model"] == TINY and out["prompt_ids"] == prompt_ids
    assert out["generated_ids"] == list(generate(prompt_ids, *tiny, max_new_tokens=12))
    assert out["text"] == "hello 👋 world" + tok.decode(out["generated_ids"])


def test_streamed_stdout_is_the_decoded_text(tok):
    """Held-back partial characters included: the bytes on screen are exactly decode(prompt + new)."""
    result = run("café 😀", "--model", TINY, "-n", "30", "--json")
    streamed, last = result.stdout.rsplit("\n", 2)[0], json.loads(result.stdout.splitlines()[-1])
    assert streamed == last["text"]
    assert "\ufffd" not in streamed or "\ufffd" in tok.decode(last["generated_ids"])


def test_score_prints_each_tokens_logprob_and_the_perplexity(tiny, tok):
    result = run("Hello, my dog is cute", "--model", TINY, "--score", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    ids = tok.encode("Hello, my dog is cute")
    expected = token_logprobs(ids, *tiny)
    assert out["ids"] == ids and out["logprobs"][0] is None
    np.testing.assert_allclose(out["logprobs"][1:], expected[1:], rtol=1e-6)
    assert math.isclose(out["perplexity"], math.exp(-np.mean(expected[1:])), rel_tol=1e-6)


def test_score_logprobs_are_log_softmax_of_the_logits(tiny, ref):
    ids = ref["ids0"].tolist()
    logits = ref["logits0"].astype(np.float64)
    log_z = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    expected = [logits[t - 1, ids[t]] - log_z[t - 1] for t in range(1, len(ids))]
    np.testing.assert_allclose(token_logprobs(ids, *tiny)[1:], expected, atol=3e-6)  # measured 2.0e-6, values up to 20


def test_score_in_plain_text_ends_with_the_perplexity():
    result = run("Hello, my dog is cute", "--model", TINY, "--score")
    assert result.returncode == 0 and result.stdout.splitlines()[-1].startswith("perplexity: ")


def test_an_empty_prompt_starts_from_end_of_text():
    out = json.loads(run("", "--model", TINY, "-n", "3", "--json").stdout.splitlines()[-1])
    assert out["prompt_ids"] == [50256] and len(out["generated_ids"]) == 3


def test_generation_that_would_pass_the_context_stops_with_a_note():
    result = run("hello " * 60, "--model", TINY, "-n", "20", "--json")
    out = json.loads(result.stdout.splitlines()[-1])
    assert result.returncode == 0
    assert len(out["prompt_ids"]) + len(out["generated_ids"]) == 64
    assert "the model reads at most 64 tokens" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["hi", "-n", "-1"], "-1 is too small: give a whole number, 0 or more"),
    (["hi", "-n", "ten"], "'ten' is not a whole number"),
    (["hello" + " hello" * 79], "the prompt has 80 tokens; this model reads at most 64"),
])
def test_command_line_mistakes_exit_2_with_one_sentence(args, message):
    result = run(*args, "--model", TINY)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_a_missing_folder_is_one_sentence_and_exit_1():
    result = run("hi", "--model", "./no/such/folder")
    assert result.returncode == 1 and result.stderr == "error: there is no folder ./no/such/folder\n"
