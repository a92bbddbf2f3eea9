"""--steer (activation addition) against transformers with a hook adding the same vectors
(tests/reference/make_steering_fixtures.py), on the tiny checkpoint, the induction model and a random checkpoint of another
shape: the steered model's log-probabilities, its greedy ids naive and with the KV cache, and patching grids
under steering; then coefficient 0 against the plain model, bit for bit, and the mistakes it refuses.

No expected number here comes from this project's code. Tolerances sit just above the largest difference
measured.
"""
import os

import numpy as np
import pytest

import main
from checkpoints import random_checkpoint, write
from conftest import ROOT, TINY, assert_close, json_of, run_tiny
from instruments.probe import probe
from instruments.steer import Steer, onto, padded, steered_stream, steering
from load import Model, load_model
from plumbing.arguments import command_line, parse_args
from tokenizer import load_tokenizer

REFERENCE = os.path.join(ROOT, "tests", "fixtures", "steering-reference.npz")
INDUCTION = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
RANDOM_SHAPE = dict(n_layer=3, n_head=2, n_embd=16, n_positions=32, seed=7)  # as make_steering_fixtures.py
CASES = {"tiny": (TINY, " Love", " Hate"), "tiny-spaces": (TINY, " weddings and cakes", None),
         "induction": (INDUCTION, "aaaa", "bbb"), "random": (None, " Love", " Hate")}
LOGPROB_ATOL = 2e-5  # log-probabilities of the steered model, of size up to 25 on the tiny model: measured 1.5e-5
GRID_ATOL = {"probability": 2e-6, "logit difference": 1e-5}  # as tests/instruments/test_patching.py's: measured 1.7e-7, 5.8e-6


@pytest.fixture(scope="module")
def ref():
    with np.load(REFERENCE) as f:
        return dict(f)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tensors, config = random_checkpoint(**RANDOM_SHAPE)
    random = write(tmp_path_factory.mktemp("random"), tensors, config)
    return {name: folder or random for name, (folder, _, _) in CASES.items()}


def model_of(folder):
    params, config = load_model(folder)
    return Model(folder, params, config, load_tokenizer(folder))


def answer(model, *argv):
    args = parse_args(command_line(), [*argv, "--model", model.name])
    return main.one_run(args, model).report


def options(ref, name):
    toward, against = CASES[name][1:]
    given = ["--steer", toward, "--steer-at", str(int(ref[f"{name}/at"])), "--steer-coef", str(float(ref[f"{name}/coef"]))]
    return given + ([] if against is None else ["--steer-against", against])


@pytest.mark.parametrize("name", CASES)
def test_the_steered_models_numbers_are_the_references(name, ref, folders):
    model = model_of(folders[name])
    ids = ref[f"{name}/ids"].tolist()
    prompt = model.tok.decode(ids)
    assert model.tok.encode(prompt) == ids
    toward, against = CASES[name][1:]
    against_ids = None if against is None else model.tok.encode(against)
    assert padded(model.tok.encode(toward), against_ids, model.tok.encode(" ")[0]) == (
        ref[f"{name}/toward"].tolist(), ref[f"{name}/against"].tolist())
    scored = answer(model, prompt, "--score", *options(ref, name))
    assert scored["steer"]["positions"] == len(ref[f"{name}/toward"])
    assert_close(np.array(scored["logprobs"][1:], np.float32), ref[f"{name}/logprobs"].astype(np.float64),
                 LOGPROB_ATOL, f"{name}: the steered model's log-probabilities")
    for cache in ([], ["--kv-cache"]):
        greedy = answer(model, prompt, "-n", str(len(ref[f"{name}/greedy_ids"])), "--ignore-eos", *cache,
                        *options(ref, name))
        assert greedy["generated_ids"] == ref[f"{name}/greedy_ids"].tolist(), f"{name} {cache}: greedy ids"


@pytest.mark.parametrize("name", ["tiny", "induction"])
def test_patching_the_steered_model_is_the_references(name, ref, folders):
    """The clean and corrupted runs are steered, and so is every patched run as it passes block at."""
    model = model_of(folders[name])
    prompt, corrupted = (model.tok.decode(ref[f"{name}/{key}"].tolist()) for key in ("ids", "corrupted"))
    target, versus = (model.tok.decode([int(ref[f"{name}/{key}"])]) for key in ("target", "versus"))
    for metric, column, versus_option in (("probability", 0, []), ("logit difference", 1, ["--versus", versus])):
        result = answer(model, prompt, "--patch", corrupted, "--patch-at", "resid,heads", "--target", target,
                        *versus_option, *options(ref, name))["patch"]
        assert result["metric"] == metric
        for kind, key in (("resid", "resid"), ("heads", "heads")):
            assert_close(np.array(result[key], np.float64), ref[f"{name}/{kind}"][..., column], GRID_ATOL[metric],
                         f"{name}: {kind} patching of the steered model ({metric})")


@pytest.mark.parametrize("name", ["tiny", "random"])
def test_a_coefficient_of_0_is_the_plain_model_bit_for_bit(name, ref, folders):
    model = model_of(folders[name])
    prompt = model.tok.decode(ref[f"{name}/ids"].tolist())
    steered = ["--steer", CASES[name][1], "--steer-coef", "0"]
    ids = ref[f"{name}/ids"].tolist()
    corrupted = model.tok.decode(ids[1:2] + ids[1:])  # its first token changed
    for run in (["--score"], ["-n", "12"], ["-n", "12", "--kv-cache"], ["-n", "0", "--patch", corrupted, "--attribute"]):
        plain, zero = answer(model, prompt, *run), answer(model, prompt, *run, *steered)
        assert zero.pop("steer") == {"toward": CASES[name][1], "against": None, "at": model.config.n_layer // 2,
                                     "coef": 0.0, "positions": len(model.tok.encode(CASES[name][1]))}
        assert zero == plain, run


def test_the_vector_is_the_difference_of_the_streams_entering_the_block(tiny, tok):
    """The stream entering block L, as the probe records it, of each text; the steered probe holds the sum."""
    params, config = tiny
    toward, against = padded(tok.encode(" Love you"), tok.encode(" Hate"), tok.encode(" ")[0])
    assert against == tok.encode(" Hate") + tok.encode(" ")
    steer = steering(toward, against, 2, 4.0, params, config)
    a, b = probe(toward, params, config).states[2], probe(against, params, config).states[2]
    assert_close(steer.add, (4.0 * (a.astype(np.float64) - b)), 1e-5, "the vectors")
    ids = tok.encode("The color of the cat is yellow")
    plain, steered = probe(ids, params, config), probe(ids, params, config, steer)
    assert np.array_equal(steered.states[2], onto(plain.states[2], steer, 2))
    assert all(np.array_equal(steered.states[i], plain.states[i]) for i in (0, 1))  # before the block: unchanged
    assert np.array_equal(steered.states[2][2:], plain.states[2][2:])  # only the first k positions
    assert np.array_equal(steered.logits, probe(ids, params, config, steer).logits)
    assert np.array_equal(steered_stream(ids, params, config, steer), steered.states[-1])


def test_onto_adds_only_at_its_block_and_positions():
    steer = Steer(1, np.ones((3, 2), np.float32))
    x = np.zeros((2, 4, 2), np.float32)  # two copies of positions start.. start + 3
    assert onto(x, steer, 0) is x and onto(x, None, 1) is x
    assert onto(x, steer, 1)[:, :, 0].tolist() == [[1, 1, 1, 0]] * 2
    assert onto(x, steer, 1, start=2)[:, :, 0].tolist() == [[1, 0, 0, 0]] * 2
    assert onto(x, steer, 1, start=3) is x


def test_steering_changes_the_tiny_models_continuation_and_says_how():
    plain = json_of(run_tiny("The color of the cat", "-n", "8", "--json"))
    steered = json_of(run_tiny("The color of the cat", "-n", "8", "--json", "--steer", " Love", "--steer-against",
                               " Hate", "--steer-at", "1"))
    assert steered["steer"] == {"toward": " Love", "against": " Hate", "at": 1, "coef": 5.0, "positions": 1}
    assert steered["generated_ids"] != plain["generated_ids"]
    assert steered["prompt_ids"] == plain["prompt_ids"]


@pytest.mark.parametrize("argv, sentence", [
    (["Hi", "--steer", " a long text to steer toward"], "adds its vectors at the prompt's first 6 positions, and the "
                                                        "prompt has 1 tokens"),
    (["The color of the cat", "--steer", ""], "--steer needs a text to steer toward"),
    (["The color of the cat", "--steer", " Love", "--steer-at", "3"], "--steer-at 3 is not a block of this model: "
                                                                     "its blocks are 0 to 2"),
    (["The color of the cat", "--steer-at", "1"], "--steer-at shapes --steer: give --steer TEXT too"),
    (["The color of the cat", "--steer-against", " Hate"], "--steer-against shapes --steer"),
    (["The color of the cat", "--steer-coef", "2"], "--steer-coef shapes --steer"),
    (["The color of the cat", "--steer", " Love", "--steer-coef", "1e999"], "is too large a number"),
    (["The color of the cat", "--steer", " Love", "--steer-coef", "-1001"], "is too large a coefficient: give -1000 to 1000"),
    (["The color of the cat", "--steer", " Love", "--steer-coef", "inf"], "is not a number"),
    (["The color of the cat", "--steer", " Love", "--steer-coef", "nan"], "is not a number"),
    (["The color of the cat", "--steer", " Love", "--steer-at", "-1"], "is too small"),
])
def test_steering_mistakes_are_one_sentence(argv, sentence, capsys):
    """main.main in this process (a process of its own for each would cost half a second; the first case also runs
    as the user does)."""
    assert main.main([*argv, "--model", TINY]) == 2
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err, err


def test_a_steering_mistake_in_a_process_of_its_own():
    result = run_tiny("Hi", "--steer", " a long text to steer toward", check=False)
    assert result.returncode == 2 and result.stderr.endswith("and the prompt has 1 tokens: give a longer prompt or "
                                                             "shorter --steer texts\n"), result.stderr


def test_the_page_shows_the_steered_and_the_plain_continuation_side_by_side(browser, tmp_path):
    path = tmp_path / "steer.html"
    run_tiny("The color of the cat", "-n", "8", "--steer", " Love", "--steer-at", "1", "--report", str(path))
    tiny = model_of(TINY)
    plain = answer(tiny, "The color of the cat", "-n", "8")["text"]
    steered = answer(tiny, "The color of the cat", "-n", "8", "--steer", " Love", "--steer-at", "1")["text"]
    assert plain != steered
    browser.get(path.as_uri())
    shown = {column.get_attribute("data-run"): column.find_element("class name", "continuation").text
             for column in browser.find_elements("css selector", "#steering > div")}
    assert shown == {"steered": steered, "without steering": plain}


@pytest.mark.parametrize("prompt", ["", "q"], ids=["empty: <|endoftext|> alone", "one byte"])
def test_the_cached_steered_run_is_the_naive_one_on_a_one_token_prompt(prompt):
    """With one token to prefill, the cached step once took the lesson's own step, unsteered: --kv-cache gave the
    plain model's ids (11, 11, ...) where the naive loop gave the steered ones (122, ...)."""
    model = model_of(INDUCTION)
    steering = ["-n", "6", "--steer", "z", "--steer-at", "1", "--steer-coef", "8"]
    naive, cached = answer(model, prompt, *steering), answer(model, prompt, *steering, "--kv-cache")
    plain = answer(model, prompt, "-n", "6", "--kv-cache")
    assert cached["generated_ids"] == naive["generated_ids"] != plain["generated_ids"], (naive, cached, plain)
