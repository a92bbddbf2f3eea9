"""Off the happy path, as a hostile user goes: each mistake ends in one sentence and a non-zero exit, nothing is
written or left behind that should not be, and no number is silently wrong.

Every test is a real invocation: main.py in a process of its own, real files, real signals (a FIFO, a timed
SIGINT), closed standard streams, and a read-only file whose write permission is really refused (root feels
no file permission: such tests run main.py with CAP_DAC_OVERRIDE dropped, through util-linux's setpriv).
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from checkpoints import tiny_config, tiny_tensors, write
from conftest import ROOT, TINY, json_of, run_main, run_tiny
from fake_hub import FakeHub, client_env
from generate import generate

MAIN = os.path.join(ROOT, "main.py")
PROMPT = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"
SETPRIV = shutil.which("setpriv")


def one_sentence(result, code):
    """The exit code, nothing on stdout, and one error line on stderr (argparse's usage line may come first)."""
    stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("usage:")]
    assert len(lines) == 1, stderr
    return lines[0]


def without_root_powers(*args, **kwargs):
    """main.py run so that file permissions hold even for root (the capability that ignores them dropped)."""
    if os.geteuid() != 0:
        return run_main(*args, **kwargs)
    if SETPRIV is None:
        pytest.skip("running as root without setpriv (util-linux): file permissions cannot be made to hold")
    caps = "-dac_override,-dac_read_search"
    command = [SETPRIV, "--bounding-set", caps, "--inh-caps", caps, sys.executable, MAIN, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


# 1. Silent wrong answers

@pytest.mark.parametrize("temperature", ["1e-50", "1e-46", "1e-300", "1e-39"])
def test_a_temperature_too_small_for_float32_is_greedy_and_every_id_is_the_models(temperature, tok):
    result = run_tiny("The dog", "-n", "8", "--temperature", temperature, "--seed", "1", "--json", check=False)
    assert result.returncode == 0, result.stderr
    from load import load_model
    params, config = load_model(TINY)
    assert json_of(result)["generated_ids"] == list(generate(tok.encode("The dog"), params, config, 8))


@pytest.fixture(scope="module")
def overflowing(tmp_path_factory):
    """Finite weights, so large that float32 arithmetic overflows on any prompt."""
    tensors = tiny_tensors()
    for name in tensors:
        if name.endswith("mlp.c_fc.weight"):
            tensors[name] = tensors[name] * np.float32(1e19)
    return write(tmp_path_factory.mktemp("overflowing"), tensors, tiny_config())


@pytest.mark.parametrize("args", [["-n", "3"], ["-n", "3", "--kv-cache"], ["--score", "--json"], ["--lens", "-n", "0"],
                                  ["-n", "2", "--temperature", "1"], ["--attribute", "-n", "0", "--json"],
                                  ["-n", "0", "--patch", "hello where", "--patch-at", "heads"]])
def test_weights_that_overflow_at_run_time_are_one_sentence_and_print_nothing(overflowing, args):
    result = run_main("hello there", "--model", overflowing, *args)
    assert "computed NaN or infinite values" in one_sentence(result, 1) and result.stdout == ""


@pytest.fixture(scope="module")
def padded(tmp_path_factory):
    """A vocabulary padded to 50304 (as nanoGPT's), the padding rows made to score highest of all."""
    tensors = tiny_tensors()
    wte = tensors["wte.weight"]
    pad = np.repeat(wte[[37288, 15337]], [24, 23], axis=0) * np.float32(4)  # the tiny model's favourites, louder
    tensors["wte.weight"] = np.concatenate([wte, pad])
    return write(tmp_path_factory.mktemp("padded"), tensors, dict(tiny_config(), vocab_size=50304))


@pytest.mark.parametrize("sampling", [[], ["--temperature", "1", "--seed", "0"], ["--kv-cache"], ["--show-top", "5"]])
def test_ids_the_tokenizer_has_no_text_for_are_never_chosen_and_that_is_said(padded, sampling):
    result = run_main("hi there", "--model", padded, "-n", "12", "--json", *sampling)
    assert result.returncode == 0, result.stderr
    report = json_of(result)
    assert all(i < 50257 for i in report["generated_ids"]) and len(report["generated_ids"]) == 12
    assert all(i < 50257 for step in report.get("show_top", []) for i, _, _ in step)
    assert "the model scores 50304 tokens and its tokenizer has text for 50257: the other 47 are never chosen" in result.stderr
    plain = run_main("hi there", "--model", padded, "-n", "1", "--lens", "--json")
    assert any(row[1] >= 50257 for row in json_of(plain)["lens"]), "the padding does win"


@pytest.mark.parametrize("tool", [["--tokens"], ["--lens"], ["--heads"], ["--attribute"], ["--report", "x.html"],
                                  ["--ablate", "1.1", "--ablate-with", "mean"], ["--copying"]])
def test_tools_that_read_one_window_refuse_a_longer_score_text_instead_of_renumbering_it(tool, tmp_path):
    result = run_tiny("hello" + " hello" * 99, "--score", *tool, cwd=tmp_path, check=False)
    assert "read at most 64 tokens and the text has 100" in one_sentence(result, 2)
    assert os.listdir(tmp_path) == []


# 2. Inputs without bounds

def test_an_endless_or_huge_prompt_file_is_refused_at_once(tmp_path):
    assert "the prompt in /dev/zero is longer than 1 MiB" in one_sentence(run_tiny("--prompt-file", "/dev/zero", check=False), 2)
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * ((1 << 20) + 1))
    assert "is longer than 1 MiB; give a part of it" in one_sentence(run_tiny("--prompt-file", str(big), check=False), 2)
    big.write_bytes(b"cat " * (1 << 18))  # exactly 1 MiB: read, then too long for the context
    assert "this model reads at most 64" in one_sentence(run_tiny("--prompt-file", str(big), check=False), 2)


def test_ctrl_c_while_the_prompt_is_read_from_a_fifo_or_a_closed_stdin(tmp_path):
    fifo = tmp_path / "prompt"
    os.mkfifo(fifo)
    process = subprocess.Popen([sys.executable, MAIN, "--prompt-file", str(fifo), "--model", TINY],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    writer = os.open(fifo, os.O_WRONLY)  # the reader has opened it and waits for text
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    os.close(writer)
    assert process.returncode == 130 and stderr.strip() == "interrupted", stderr
    closed = subprocess.run([sys.executable, MAIN, "--prompt-file", "-", "--model", TINY], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, close_fds=True, preexec_fn=lambda: os.close(0))
    assert "reads standard input, which is closed" in one_sentence(closed, 2)


@pytest.mark.parametrize("option, said", [
    ("--patch", "the text of --patch is not valid UTF-8 text"),
    ("--target", "the text of --target is not valid UTF-8 text"),
    ("--versus", "the text of --versus is not valid UTF-8 text"),
    ("--report", "the file name of --report is not valid UTF-8 text"),
    ("--attention", "the file name of --attention is not valid UTF-8 text"),
    ("--prompt-file", "the file name of --prompt-file is not valid UTF-8 text"),
    ("--model", "the name of --model is not valid UTF-8 text"),
])
def test_every_text_option_must_be_utf8(option, said, tmp_path):
    args = [b"hi", b"-n", b"0", b"--attribute", option.encode(), b"x\xff"]
    if option == "--prompt-file":
        args = args[1:]
    result = subprocess.run([sys.executable.encode(), MAIN.encode(), *args] + ([] if option == "--model" else [b"--model", TINY.encode()]),
                            capture_output=True, cwd=tmp_path, timeout=60)
    assert said in one_sentence(result, 2) and os.listdir(tmp_path) == []


# 3. The environment

@pytest.fixture
def hub():
    served = FakeHub({"openai-community/gpt2": TINY})
    yield served
    served.stop()


@pytest.mark.parametrize("name, value", [("HF_HUB_ETAG_TIMEOUT", v) for v in ("abc", "-1", "0", "1.5", "")]
                         + [("HF_HUB_DOWNLOAD_TIMEOUT", "abc")])
def test_a_timeout_that_is_not_a_number_of_seconds_is_named_and_breaks_neither_help_nor_folders(tmp_path, name, value):
    env = client_env(tmp_path / "home", "http://127.0.0.1:9", **{name: value})
    assert run_main("--help", env=env).returncode == 0
    assert run_main("hi", "-n", "1", "--model", TINY, env=env).returncode == 0
    said = one_sentence(run_main("hi", "--model", "gpt2", env=env), 1)
    assert said == f"error: {name} is {value!r}: it must be a whole number of seconds, 1 or more; fix or unset it"


def test_a_relative_hf_home_that_does_not_exist_is_made_where_the_run_is(tmp_path, hub):
    env = client_env("relative/home", hub.url)
    result = run_main("hi", "-n", "2", "--model", "gpt2", env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "relative" / "home" / "hub").is_dir()


@pytest.mark.parametrize("home, said", [
    ("", "HF_HOME is set but empty"),
    ("a-file", "which is not a folder: the Hugging Face cache goes in a folder"),
    ("token-is-a-folder", "in the Hugging Face folder (HF_HOME, "),
])
def test_a_local_fault_of_the_cache_is_named_not_blamed_on_the_network(tmp_path, hub, home, said):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "token-is-a-folder" / "token").mkdir(parents=True)
    env = client_env(str(tmp_path / home) if home else "", hub.url)
    line = one_sentence(run_main("hi", "--model", "gpt2", env=env, timeout=60), 1)
    assert said in line and "connection" not in line and "run again" not in line, line


# 4. Outputs that would overwrite what they should not

@pytest.fixture
def model(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(TINY, folder)
    return folder


def unchanged(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.mark.parametrize("option, target", [("--report", "config.json"), ("--attention", "model.safetensors"),
                                            ("--report", "vocab.json"), ("--attention", "merges.txt")])
def test_an_output_is_never_one_of_the_models_files(model, option, target):
    before = unchanged(model)
    said = one_sentence(run_main("hi", "--model", str(model), option, str(model / target)), 1)
    assert said == f"error: cannot write {model / target}: it is the model's {target}, which this run reads"
    assert unchanged(model) == before


def test_an_output_is_never_the_hub_caches_file_even_through_its_links(tmp_path, hub):
    env = client_env(tmp_path / "home", hub.url)
    assert run_main("hi", "-n", "1", "--model", "gpt2", env=env).returncode == 0  # downloads into the cache
    snapshot = next((tmp_path / "home" / "hub").glob("models--openai-community--gpt2/snapshots/*"))
    link = tmp_path / "page.html"
    link.symlink_to(os.path.realpath(snapshot / "config.json"))
    for path in (snapshot / "config.json", link):
        blob = os.path.realpath(path)
        before = open(blob, "rb").read()
        said = one_sentence(run_main("hi", "--model", "gpt2", "--report", str(path), env=env), 1)
        assert said.endswith(("it is the model's config.json, which this run reads",
                              "it exists and is not a file that --report wrote, so it is not replaced; remove it or "
                              "choose another name")) and open(blob, "rb").read() == before


def test_an_output_is_never_the_prompt_file_nor_the_other_output(tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("hello there")
    said = one_sentence(run_tiny("--prompt-file", str(prompt), "--report", str(prompt), check=False), 1)
    assert "it is the prompt file, which this run reads" in said and prompt.read_text() == "hello there"
    said = one_sentence(run_tiny("hi", "--report", str(tmp_path / "x.html"), "--attention", f"{tmp_path}/./x.html", check=False), 1)
    assert "--attention and --report both name" in said and sorted(os.listdir(tmp_path)) == ["prompt.txt"]


def test_a_read_only_output_is_refused_and_kept(tmp_path):
    from plumbing.files import WRITTEN_BY
    page = tmp_path / "page.html"
    page.write_text(f"<head>{WRITTEN_BY['--report']} keep me")  # a page of an earlier run
    page.chmod(0o444)
    said = one_sentence(without_root_powers("hi", "--model", TINY, "--report", str(page)), 1)
    assert "it is read-only" in said and page.read_text().endswith("keep me")


def test_a_folder_that_cannot_be_searched_or_written_is_refused_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    for mode in (0o600, 0o500):
        locked.chmod(mode)
        said = one_sentence(without_root_powers("hi", "--model", TINY, "--report", str(locked / "x.html")), 1)
        assert f"the folder {locked} is not writable" in said
    locked.chmod(0o700)
    assert os.listdir(locked) == []


@pytest.mark.parametrize("name, said", [("x" * 300 + ".html", "its name is longer than the 255 bytes"),
                                        ("folder/", "it ends in /, so it names a folder")])
def test_a_name_the_file_system_cannot_take_is_refused_before_any_work(tmp_path, name, said):
    assert said in one_sentence(run_tiny("hi", "--report", str(tmp_path) + "/" + name, check=False), 1)
    assert os.listdir(tmp_path) == []


def program_file(*parts):
    return os.path.join(ROOT, *parts)


@pytest.mark.parametrize("option, path", [
    ("--attention", "attention.py"),  # what tab completion offers in the project's folder
    ("--report", "model.py"), ("--report", "instruments/page/page.html"), ("--attention", "README.md"),
    ("--report", "run.sh"), ("--attention", "tests/fixtures/induction-gpt2/config.json")])
def test_the_programs_own_files_are_never_replaced(option, path):
    before = open(program_file(path), "rb").read()
    said = one_sentence(run_tiny("hi", "-n", "1", option, path, cwd=ROOT, check=False), 1)
    assert said == (f"error: cannot write {path}: it exists and is not a file that {option} wrote, so it is not "
                    "replaced; remove it or choose another name")
    assert open(program_file(path), "rb").read() == before


def test_an_executable_a_file_of_another_kind_and_a_symlink_to_one_are_kept(tmp_path):
    """--attention FILE wrote its SVG over an interpreter in use, which then could not start."""
    python = tmp_path / "python3"
    shutil.copy(sys.executable, python)
    text = tmp_path / "notes.txt"
    text.write_text("my notes")
    (tmp_path / "link.html").symlink_to(text)
    svg, html = tmp_path / "map.svg", tmp_path / "page.html"
    assert run_tiny("hi", "-n", "1", "--attention", str(svg), "--report", str(html)).returncode == 0
    for option, path in (("--attention", python), ("--report", text), ("--report", tmp_path / "link.html"),
                         ("--report", svg), ("--attention", html)):  # a page is not a map, nor a map a page
        before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
        said = one_sentence(run_tiny("hi", "-n", "1", option, str(path), check=False), 1)
        assert "it exists and is not a file that" in said
        assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


def test_a_previous_output_of_the_same_kind_and_an_empty_file_are_replaced(tmp_path):
    svg, html = tmp_path / "map.svg", tmp_path / "page.html"
    html.write_text("")
    for prompt in ("hi", "hello there"):
        assert run_tiny(prompt, "-n", "1", "--attention", str(svg), "--report", str(html)).returncode == 0
        assert "hello" in html.read_text() if prompt != "hi" else html.stat().st_size > 0
    assert sorted(os.listdir(tmp_path)) == ["map.svg", "page.html"]


def test_nothing_is_written_inside_the_programs_own_venv(tmp_path):
    venv = os.path.join(ROOT, ".venv")
    if not os.path.isdir(venv):
        pytest.skip("the suite runs without the program's .venv")
    said = one_sentence(run_tiny("hi", "-n", "1", "--report", os.path.join(venv, "new.html"), check=False), 1)
    assert said.endswith("it is inside the program's own .venv") and not os.path.exists(os.path.join(venv, "new.html"))


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_no_temporary_file_is_left_when_stopped_between_writing_and_renaming(tmp_path, monkeypatch, stop):
    from plumbing import files

    def stopped(source, destination):
        raise stop()
    monkeypatch.setattr(files.os, "replace", stopped)
    old = files.WRITTEN_BY["--report"] + "old"
    (tmp_path / "page.html").write_text(old)
    with pytest.raises(stop):
        files.write_text(str(tmp_path / "page.html"), files.WRITTEN_BY["--report"] + "new", "--report")
    assert os.listdir(tmp_path) == ["page.html"] and (tmp_path / "page.html").read_text() == old


def test_sigterm_while_the_page_is_written_leaves_no_temporary_file(tmp_path):
    """A long prompt's page takes a while to write: kill arrives during the work, at any moment of it."""
    for delay in (0.6, 0.9, 1.2):
        process = subprocess.Popen([sys.executable, MAIN, "hello " * 60, "--model", TINY, "-n", "0", "--report",
                                    str(tmp_path / "page.html"), "--heads", "--copying"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert "Traceback" not in stderr
        assert all(not name.endswith(".tmp") for name in os.listdir(tmp_path)), os.listdir(tmp_path)


# 5. Closed streams

def test_a_closed_stdout_is_one_sentence_before_any_work(tmp_path):
    result = subprocess.run([sys.executable, MAIN, "hi", "--model", TINY, "--report", str(tmp_path / "x.html")],
                            capture_output=False, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1))
    assert "standard output is closed" in one_sentence(result, 1) and os.listdir(tmp_path) == []


def test_with_stderr_closed_no_error_lands_in_stdout():
    result = subprocess.run([sys.executable, MAIN, "hi", "--model", "./no/such/model"], stdout=subprocess.PIPE,
                            text=True, preexec_fn=lambda: os.close(2))
    assert result.returncode == 1 and result.stdout == ""
    result = subprocess.run([sys.executable, MAIN, "hi", "-n", "-3"], stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: os.close(2))
    assert result.returncode == 2 and result.stdout == ""


# 7. Tools that crashed on ordinary input

def test_trace_on_a_prompt_longer_than_one_slice_of_queries(slow_model):
    result = run_main("hello " * 199, "--model", slow_model, "-n", "0", "--trace")
    assert result.returncode == 0 and "[2, 200, 200]" in result.stdout, result.stderr


# 8. Options silently dropped, sentences that were false

def test_ablate_given_twice_removes_the_heads_of_both():
    report = json_of(run_tiny("hi", "-n", "1", "--ablate", "0.1", "--ablate", "2.3,0.1", "--json", check=False))
    assert report["ablate"] == [[0, 1], [2, 3]]


@pytest.mark.parametrize("option, values", [("--report", ["a.html", "b.html"]), ("--target", [" a", " b"]),
                                            ("-n", ["3", "4"]), ("--temperature", ["1", "1"]), ("--model", [TINY, TINY]),
                                            ("--patch-at", ["heads", "mlp"])])
def test_an_option_of_one_value_given_twice_is_refused(option, values, tmp_path):
    args = [item for value in values for item in (option, value)]
    result = run_main("hi", "--patch", "ho", "--attribute", *args, *([] if option == "--model" else ["--model", TINY]),
                      cwd=tmp_path)
    assert "is given twice: give it once" in one_sentence(result, 2) and os.listdir(tmp_path) == []


@pytest.mark.parametrize("extra, listed", [(["--kv-cache"], "--kv-cache"), (["--temperature", "0.5"], "--temperature"),
                                           (["--show-top", "3"], "--show-top"), (["--sliding-window", "--ignore-eos"],
                                                                                 "--sliding-window, --ignore-eos")])
def test_zero_new_tokens_with_generation_options_is_refused(extra, listed):
    assert f"-n 0 generates nothing: leave out {listed}" in one_sentence(run_tiny("hi", "-n", "0", *extra, check=False), 2)


@pytest.mark.parametrize("option", ["-n", "--seed", "--top-k", "--stride", "--show-top"])
def test_a_number_of_5000_digits_is_too_large_not_not_a_number(option):
    said = one_sentence(run_tiny("hi", "--score" if option == "--stride" else "--temperature=1", option, "9" * 5000, check=False), 2)
    assert "is too large: give a whole number below 10**18" in said


def test_a_real_number_too_large_and_an_empty_corrupted_prompt():
    assert "is too large a number" in one_sentence(run_tiny("hi", "--temperature", "1" + "0" * 400, check=False), 2)
    assert "the prompt has 21, '' has 1" in one_sentence(run_tiny(PROMPT, "--patch", "", check=False), 2)


@pytest.mark.parametrize("prompt", ["-hello", "-help", "-h5", "-x", "--cat-food"])
def test_a_prompt_that_looks_like_an_option_is_told_to_go_after_double_dash(prompt):
    said = one_sentence(run_tiny(prompt, check=False), 2)
    assert said == f"main.py: error: '{prompt}' is not an option; a prompt that starts with - goes after --, as in: main.py -- '{prompt}'"
    said = one_sentence(run_main("--model", TINY, "--", prompt, "-n", "1"), 2)
    assert said == "main.py: error: after --, everything is the prompt: give one prompt there, and the options before --"
    assert run_main("-n", "1", "--model", TINY, "--", prompt).returncode == 0


# 9. "--" as a value

def test_every_option_takes_dashdash_as_its_value_or_refuses_it():
    """--patch=-- (a learner's corrupted prompt of punctuation) and its relatives, for every option with a value:
    argparse (before Python 3.13) dropped such a value and handed on an empty list, unconverted, which crashed
    the run or silently removed the option. Now it is "--", through the option's own type, or one sentence."""
    from plumbing.arguments import UsageError, command_line, parse_args
    parser = command_line()
    options = [a for a in parser._actions if a.option_strings and a.nargs != 0 and a.dest not in ("prompt_file",)]
    assert len(options) > 20
    for action in options:
        option = action.option_strings[-1]
        try:
            args = parse_args(parser, [f"{option}=--", "--", "The color of the cat"])
        except UsageError as e:
            assert "--" in str(e) or "give" in str(e), (option, str(e))
            continue
        value = getattr(args, action.dest)
        assert value == (action.type("--") if action.type else "--"), (option, value)
        assert action.choices is None or value in action.choices, (option, value)  # --ablate-with=-- ran without it


@pytest.mark.parametrize("typed, meant", [("--kvcache", "--kv-cache"), ("--temprature", "--temperature"),
                                          ("--modle", "--model"), ("--max-new-token", "--max-new-tokens"),
                                          ("--atention", "--attention"), ("--steer-coeff", "--steer-coef")])
def test_a_typo_gets_did_you_mean(typed, meant):
    said = one_sentence(run_tiny("hi", typed, "1", check=False), 2)
    assert said == f"main.py: error: '{typed}' is not an option; did you mean {meant}?"


@pytest.mark.parametrize("typed, meant", [("--temp", "--temperature"), ("--head", "--heads"), ("--kv", "--kv-cache"),
                                          ("--max", "--max-new-tokens"), ("--see", "--seed"),
                                          ("--steer-a", "--steer-against or --steer-at")])
def test_no_abbreviation_is_taken(typed, meant):
    """argparse takes a unique prefix (--temp for --temperature) unless told not to; such a command breaks the day an
    option with the same start is added. It is refused, with the full names it may mean."""
    word = typed + "=1"
    said = one_sentence(run_tiny("hi", "-n", "1", word, check=False), 2)
    assert said == f"main.py: error: '{word}' is not an option; did you mean {meant}?"


def test_an_option_value_is_read_by_no_pattern_that_can_backtrack():
    """--patch-positions of 2,000 spaces and an x took 37 s (the pattern's three \\s* backtracked cubically), and
    through the live page's API held every thread. Now values are stripped before any pattern, and a value over
    1,000 characters is refused before it is read."""
    from plumbing.option_types import position_range, receiver
    for parse in (position_range, receiver):
        for spaces in (999, 100_000):
            with pytest.raises(Exception, match="is not a|is too long"):
                parse(" " * spaces + "x")
    said = one_sentence(run_tiny(PROMPT, "-n", "0", "--patch", PROMPT, "--patch-positions", " " * 100_000 + "x",
                                 check=False), 2)
    assert "is too long (100001 characters)" in said


@pytest.mark.parametrize("value", ["3.5e38", "3.4028235e38", "1e31"])
def test_a_temperature_beyond_float32_is_refused_not_blamed_on_the_weights(value):
    """It used to overflow when cast to float32 and be called a damaged checkpoint (exit 1)."""
    result = run_tiny("hi", "-n", "2", "--temperature", value, check=False)
    assert result.returncode == 2 and "is too large a temperature: give at most 1e30" in result.stderr
    assert "damaged" not in result.stderr and "Traceback" not in result.stderr


def test_the_largest_temperature_samples():
    assert json_of(run_tiny("hi", "-n", "2", "--temperature", "1e30", "--seed", "1", "--json"))["generated_ids"]


def test_patch_positions_with_path_alone_is_refused_not_ignored():
    result = run_tiny("The color of the cat", "-n", "0", "--patch", "The color of the dog", "--path", "logits",
                      "--patch-positions", "2:4", check=False)
    assert result.returncode == 2 and "--path patches every position" in result.stderr


def test_the_python_apis_positions_are_patched_as_given_and_heads_checked(tiny, tok):
    """patching() takes any positions, in any order (it assumed one ascending range: [15, 10] patched nothing and
    [10, 15] patched 10 to 15); ablate() refuses heads the model lacks (it ignored (0, 4), and (-1, 0) removed
    the last block's head)."""
    from instruments.ablate import ablate
    from instruments.patch import patching
    from instruments.probe import probe
    params, config = tiny
    clean = probe(tok.encode("The animal is yellow. It's a cat. The color of the cat"), params, config)
    corrupted = probe(tok.encode("The animal is green. It's a cat. The color of the cat"), params, config)
    target = int(np.argmax(clean.logits[-1]))

    def grid(positions):
        return patching(clean, corrupted, target, None, ["heads"], positions, params, config)["heads"]
    assert grid([3, 9]) == grid([9, 3]) == grid([3, 9, 3])
    assert grid([3, 9]) != grid(list(range(3, 10)))  # only 3 and 9, not the range between them
    for positions in ([], [-1], [len(clean.states[0])], [2.5], [True]):
        with pytest.raises(ValueError, match="positions must be one or more positions of the prompt"):
            grid(positions)
    for head in ((0, config.n_head), (-1, 0), (config.n_layer, 0), (0, -1)):
        with pytest.raises(ValueError, match="there is no head"):
            ablate(params, [head], config)


# 10. Round four: values echoed whole, a slice's None, a patch that changes nothing, models too short for a tool

N = "9" * 5000


@pytest.mark.parametrize("args", [["--ablate", f"{N}.0"], ["--ablate", f"0.{N}"], ["--ablate", "0.1," + "x" * 5000],
                                  ["--patch", "hx", "--patch-positions", N], ["--patch", "hx", "--patch-positions", f"-{N}:"],
                                  ["--patch", "hx", "--patch-positions", "y" * 5000], ["--patch", "hx", "--path", f"0.{N}.q"],
                                  ["--patch", "hx", "--path", "z" * 5000], ["--temperature", f"-{N}"],
                                  ["--temperature", "nan" * 2000], ["--top-p", N, "--temperature", "1"],
                                  ["--steer", "x", "--steer-coef", f"-{N}"], ["--steer", "x", "--steer-at", N]],
                         ids=lambda a: " ".join(a)[:30])
def test_a_value_of_5000_characters_is_not_echoed_whole(args):
    said = one_sentence(run_tiny("hi", "-n", "0", *args, check=False), 2)
    assert len(said) < 300, said


def test_an_open_range_is_said_as_it_was_written():
    said = one_sentence(run_tiny("hi there", "-n", "0", "--patch", "yo there", "--patch-positions", "1000:", check=False), 2)
    assert said.endswith("error: --patch-positions 1000: holds no position of the prompt's 2 (0 to 1)")


def test_a_corrupted_prompt_equal_to_the_prompt_is_called_so():
    said = one_sentence(run_tiny(PROMPT, "-n", "0", "--patch", PROMPT, check=False), 2)
    assert said.endswith("error: --patch's corrupted prompt is the prompt itself: every patch would put back what is "
                         "already there; change the tokens whose effect you want to see")


@pytest.fixture(scope="module")
def short_models(tmp_path_factory):
    from checkpoints import random_checkpoint
    return {n: write(tmp_path_factory.mktemp(f"ctx{n}"), *random_checkpoint(n_layer=2, n_head=2, n_embd=32, n_positions=n))
            for n in (1, 2, 4)}


@pytest.mark.parametrize("n_ctx, args, said", [
    (2, ["a b", "--heads", "-n", "0"], "--heads measures induction on random tokens repeated twice, at least 2 of them "
                                       "after <|endoftext|>: a model that reads 5 tokens or more; this one reads 2"),
    (4, ["a b", "--heads", "-n", "0"], "a model that reads 5 tokens or more; this one reads 4"),
    (1, ["a", "--score"], "--score needs a model that reads 2 tokens or more, so that its windows overlap; this one reads 1"),
])
def test_a_model_too_short_for_a_tool_is_said_not_blamed_on_its_weights(short_models, n_ctx, args, said):
    assert one_sentence(run_main("--model", short_models[n_ctx], *args), 2).endswith(said)


def test_head_scores_refuses_a_context_too_short_in_the_python_api(short_models):
    from instruments.head_roles import head_scores
    from load import load_model
    params, config = load_model(short_models[2])
    with pytest.raises(ValueError, match="a model that reads 5 tokens or more"):
        head_scores(None, params, config, 0)


@pytest.mark.parametrize("model, said", [(os.fsencode(TINY) + b"\xff", "the name of --model is not valid UTF-8 text"),
                                         (b"", "--model needs a value, not an empty string")])
def test_serve_checks_its_text_options_as_every_run_does(model, said):
    result = subprocess.run([sys.executable, MAIN, "--serve", "--port", "0", "--model", model], capture_output=True,
                            timeout=60)
    assert one_sentence(result, 2).endswith(said)


def test_a_command_name_that_is_not_utf8_is_written_escaped(tmp_path):
    env = {**os.environ, "GPT2_COMMAND": os.fsdecode(b"/tmp/caf\xe9/run.sh")}
    result = run_main("hi", "-n", "1", "--model", TINY, "--report", str(tmp_path / "page.html"), env=env)
    assert result.returncode == 0, result.stderr
    assert "'/tmp/caf\\\\xe9/run.sh' hi -n 1" in (tmp_path / "page.html").read_text(encoding="utf-8")  # in JSON
    assert "usage: /tmp/caf\\xe9/run.sh" in run_main("--nothing", env=env).stderr


def test_the_python_apis_core_refuses_ids_it_cannot_read(tiny):
    """forward([-1]) read wte's last row; probe([]) ended in numpy's words; steering took any block and coefficient."""
    from instruments.probe import probe
    from instruments.steer import steering
    from lessons.score import token_logprobs
    from model import forward
    params, config = tiny
    for ids in ([], [-1], [config.vocab_size], [1] * (config.n_ctx + 1)):
        for run in (forward, probe):
            with pytest.raises(ValueError, match=f"GPT-2 reads 1 to {config.n_ctx} token ids, whole numbers 0 to "):
                run(ids, params, config)
    for toward, against, at, coef in (([1], [2], config.n_layer, 1.0), ([1], [2], -1, 1.0), ([1, 2], [2], 0, 1.0),
                                      ([1], [2], 0, float("nan")), ([], [], 0, 1.0)):
        with pytest.raises(ValueError, match="steering takes two texts' ids of one length"):
            steering(toward, against, at, coef, params, config)
    with pytest.raises(ValueError, match="the stride is 1 to"):
        token_logprobs([1, 2, 3], params, config, stride=config.n_ctx)


@pytest.mark.parametrize("args", [["--attribute", "--versus", "9" * 5000], ["--attribute", "--target", "x" * 5000],
                                  ["--patch", "hx", "--patch-at", "y" * 5000]], ids=["versus", "target", "patch-at"])
def test_a_text_of_5000_characters_is_not_echoed_whole_either(args):
    said = one_sentence(run_tiny("hi", "-n", "0", *args, check=False), 2)
    assert len(said) < 300, said


# 11. Round five: steering texts that cannot fit, a steered run nobody reads

@pytest.mark.parametrize("how", [["--score"], ["-n", "2"], ["-n", "2", "--kv-cache"]])
def test_steering_texts_longer_than_the_prompt_or_the_context_are_refused_when_scoring_too(how):
    """--score ran with steering texts longer than the prompt, where generation refused; texts longer than the
    context ended in a traceback."""
    said = one_sentence(run_tiny("hi there", *how, "--steer", "a steering text much longer than the prompt", check=False), 2)
    assert "--steer adds its vectors at the prompt's first" in said and "the prompt has 2 tokens" in said
    said = one_sentence(run_tiny("word " * 60, *how, "--steer", "cat " * 80, check=False), 2)
    assert said.endswith("--steer's texts have 81 tokens, and this model reads at most 64: give shorter ones")


def test_a_steered_run_that_nothing_reads_is_refused():
    said = one_sentence(run_tiny("hi", "-n", "0", "--steer", "cat", check=False), 2)
    assert "-n 0 generates nothing and no tool reads the steered run" in said
    assert run_tiny("hi", "-n", "0", "--steer", "cat", "--lens").returncode == 0


@pytest.mark.parametrize("module, name, options", [
    ("instruments.edges", "receiver_gradients", ["--patch", "The color of the dog", "--edges"]),
    ("instruments.attribution_patching", "estimated_grid", ["--patch", "The color of the dog", "--patch-at", "heads",
                                                             "--attribution-patching", "--estimate-only"]),
    ("instruments.why_attends", "composition", ["--why-attends", "1.0"]),
    ("instruments.self_repair", "self_repair", ["--ablate", "1.0", "--self-repair"]),
], ids=["edges", "estimate-only", "why-attends", "self-repair"])
def test_ctrl_c_inside_each_new_kind_of_run_is_quiet_and_writes_nothing(tmp_path, module, name, options):
    """Ctrl-C lands inside the new instruments' own work (the function named says it is under way, then waits): exit
    130, "interrupted", nothing on stdout and no page half-written."""
    wrapper = ("import importlib, runpy, sys, time\n"
               f"part = importlib.import_module({module!r})\n"
               f"inner = getattr(part, {name!r})\n"
               "def under_way(*args, **kwargs):\n"
               "    print('under way', file=sys.stderr, flush=True)\n"
               "    time.sleep(300)\n"
               "    return inner(*args, **kwargs)\n"
               f"setattr(part, {name!r}, under_way)\n"
               "sys.argv = sys.argv[1:]\n"
               "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    page = tmp_path / "page.html"
    process = subprocess.Popen([sys.executable, "-c", wrapper, MAIN, "The color of the cat", "--model", TINY, "-n", "0",
                                *options, "--report", str(page)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    assert process.stderr.readline() == "under way\n"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and stderr.strip() == "interrupted" and stdout == "", stderr
    assert os.listdir(tmp_path) == []
