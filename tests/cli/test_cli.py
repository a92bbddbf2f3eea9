"""main.py run as a user runs it, on the tiny checkpoint: streaming, --json, --score, mistakes."""
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, TINY, json_of, read_at_least, run_main, run_tiny
from generate import generate
from lessons.score import token_logprobs


def test_json_reports_the_greedy_ids_and_the_text(tiny, tok):
    result = run_main("hello 👋 world", "--model", TINY, "-n", "12", "--json")
    assert result.returncode == 0, result.stderr
    out = json_of(result)
    prompt_ids = tok.encode("hello 👋 world")
    assert out["model"] == TINY and out["prompt_ids"] == prompt_ids
    assert out["generated_ids"] == list(generate(prompt_ids, *tiny, max_new_tokens=12))
    assert out["text"] == "hello 👋 world" + tok.decode(out["generated_ids"])


def test_the_continuation_arrives_while_it_is_produced(slow_model):
    """On a model slow enough to watch: the first words are on the screen long before the run ends."""
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "Once upon a time", "--model", slow_model,
                                "-n", "600"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    read_at_least(process.stdout, len("Once upon a time") + 10)
    assert process.poll() is None, "the text came only at the end"
    process.kill()
    process.wait()


def test_a_character_split_over_tokens_is_held_back_until_it_is_whole(tok):
    """The stream's pieces never show half a character ("\ufffd"), and add up to the decoded text."""
    from plumbing.stream import stream
    ids = tok.encode("😀 emoji 👋🏽 and 東京")
    assert "\ufffd" in tok.decode(ids[:1]), "the first token holds only part of the emoji"
    pieces = []
    assert stream(iter(ids), tok, pieces.append, "prompt:") == ids
    assert pieces[0] == "prompt:" and all("\ufffd" not in piece for piece in pieces)
    assert "".join(pieces[1:]) == tok.decode(ids)


def test_score_prints_each_tokens_logprob_and_the_perplexity(tiny, tok):
    result = run_main("Hello, my dog is cute", "--model", TINY, "--score", "--json")
    assert result.returncode == 0, result.stderr
    out = json_of(result)
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
    result = run_main("Hello, my dog is cute", "--model", TINY, "--score")
    assert result.returncode == 0 and result.stdout.splitlines()[-1].startswith("perplexity: ")


def test_an_empty_prompt_starts_from_end_of_text():
    out = json_of(run_main("", "--model", TINY, "-n", "3", "--json"))
    assert out["prompt_ids"] == [50256] and len(out["generated_ids"]) == 3


def test_generation_that_would_pass_the_context_stops_with_a_note():
    result = run_main("hello " * 60, "--model", TINY, "-n", "20", "--json")
    out = json_of(result)
    assert result.returncode == 0
    assert len(out["prompt_ids"]) + len(out["generated_ids"]) == 64
    assert "the model reads at most 64 tokens" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["hi", "-n", "-1"], "-1 is too small: give a whole number, 0 or more"),
    (["hi", "-n", "ten"], "'ten' is not a whole number"),
    (["hello" + " hello" * 79], "the prompt has 80 tokens; this model reads at most 64"),
])
def test_command_line_mistakes_exit_2_with_one_sentence(args, message):
    result = run_main(*args, "--model", TINY)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_a_missing_folder_is_one_sentence_and_exit_1():
    result = run_main("hi", "--model", "./no/such/folder")
    assert result.returncode == 1 and result.stderr == "error: there is no folder ./no/such/folder\n"


@pytest.mark.parametrize("options", [
    ["-n", "3"], ["--score"], ["-n", "2", "--tokens", "--bpe", "--trace", "--lens", "--show-top", "3", "--kv-cache"],
    ["-n", "0", "--heads", "--copying", "--attribute", "--patch", "The color of the dog", "--path", "logits"],
    ["-n", "2", "--steer", " Love", "--ablate", "1.1"], ["-n", "1", "--report", "{tmp}/page.html", "--attention",
                                                        "{tmp}/map.svg"],
], ids=["generate", "score", "tools", "experiments", "steer-ablate", "files"])
def test_json_is_all_that_goes_to_stdout_so_it_pipes(options, tmp_path):
    """./run.sh ... --json | jq . works for every kind of run: the text, the tools' tables and notes go to stderr."""
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    result = run_tiny("The color of the cat", "--json", *options)
    report = json.loads(result.stdout)
    assert report["model"] == TINY and result.stdout.count("\n") == 1
    assert ("perplexity" if "--score" in options else "The color of the cat") in result.stderr
    if shutil.which("jq"):
        piped = subprocess.run(["jq", "-c", ".model"], input=result.stdout, capture_output=True, text=True, timeout=30)
        assert piped.returncode == 0 and json.loads(piped.stdout) == TINY


def test_the_python_api_runs_from_a_script_in_another_folder(tmp_path):
    """The README's way: PYTHONPATH names the project folder, the script lives and runs elsewhere."""
    script = tmp_path / "my_script.py"
    script.write_text(f"""
from generate import generate
from load import load_model, model_folder
from tokenizer import load_tokenizer
folder = model_folder({TINY!r})
params, config = load_model(folder)
tok = load_tokenizer(folder)
ids = tok.encode("The dog")
print(ids, list(generate(ids, params, config, max_new_tokens=3)))
""")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[464, 3290] [")


def test_every_option_of_help_is_one_line_at_100_columns():
    result = run_main("--help", env=dict(os.environ, COLUMNS="100"))
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and all(len(line) <= 100 for line in lines)
    continued = [line for line in lines if line.startswith(" " * 29) and line.strip()]
    assert not continued, f"help that wraps onto a second line: {continued}"


def test_the_pages_options_follow_the_parsers_declarations_alone():
    """An option added to the parser is the page's, its kind read from its type; one marked terminal() is not."""
    from plumbing.arguments import command_line, terminal
    from plumbing.option_types import at_least_one, count
    from plumbing.page_options import api_options
    parser = command_line()
    before = api_options(parser)
    assert before["top_k"] == "number" and before["kv_cache"] == "flag" and before["versus"] == "text"
    assert not {"help", "model", "json", "report", "attention", "serve", "port", "prompt_file"} & set(before)
    parser.add_argument("--new-measure", type=count)
    parser.add_argument("--new-flag", action="store_true")
    terminal(parser.add_argument("--new-file", type=at_least_one))
    after = api_options(parser)
    assert after == {**before, "new_measure": "number", "new_flag": "flag"}
