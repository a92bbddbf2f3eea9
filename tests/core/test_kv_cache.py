"""The cached path computes the same numbers as the naive one, and both follow the n_ctx policy."""

import numpy as np
import pytest

from checkpoints import tiny_config, tiny_tensors, write
from conftest import LOGITS_ATOL, assert_close, json_of, run_main, run_tiny
from generate import generate
from lessons.kv_cache import cached_step, empty_cache, next_logits
from model import forward


def test_token_by_token_logits_match_transformers(ref, tiny, query_rows):
    """One token at a time through the cache: each step's logits are the reference's row for it."""
    params, config = tiny
    ids = ref["ids1"].tolist()
    cache = empty_cache(config, config.n_ctx)
    for t in range(len(ids)):
        logits = next_logits(ids[:t + 1], params, config, cache)
        assert logits.dtype == np.float32
        assert_close(logits, ref["logits1"][t], LOGITS_ATOL, f"cached logits at position {t}")


def test_prefill_then_steps_equal_forward(tiny, query_rows):
    params, config = tiny
    ids = [464, 3290, 373, 1043, 287, 257]
    cache = empty_cache(config, config.n_ctx)
    assert_close(next_logits(ids[:4], params, config, cache), forward(ids[:4], params, config)[-1], LOGITS_ATOL, "prefill")
    for t in (5, 6):
        assert_close(next_logits(ids[:t], params, config, cache), forward(ids[:t], params, config)[-1],
                     LOGITS_ATOL, f"step to {t} tokens")


def test_a_window_that_slid_rebuilds_the_cache(tiny):
    params, config = tiny
    ids = list(range(1000, 1000 + config.n_ctx + 1))
    cache = empty_cache(config, config.n_ctx)
    next_logits(ids[:config.n_ctx], params, config, cache)
    slid = ids[1:]  # every token moved one position back: the cached keys are stale
    assert_close(next_logits(slid, params, config, cache), forward(slid, params, config)[-1], LOGITS_ATOL, "slid window")


@pytest.mark.parametrize("sliding_window", [False, True])
def test_greedy_ids_are_identical_with_and_without_the_cache(tiny, sliding_window, query_rows):
    params, config = tiny
    prompt = [464, 3290]
    naive = list(generate(prompt, params, config, 100, sliding_window=sliding_window))
    step = cached_step(params, config, len(prompt) + 100)
    cached = list(generate(prompt, params, config, 100, sliding_window=sliding_window, next_logits=step))
    assert cached == naive
    assert len(naive) == (100 if sliding_window else config.n_ctx - len(prompt))


def test_the_cli_flag_gives_the_same_output(ref, tiny, tok):
    def run(*extra):
        return run_tiny("The dog", "-n", "70", "--json", *extra)
    naive, cached = run(), run("--kv-cache")
    assert naive.stdout == cached.stdout and naive.stderr == cached.stderr
    assert f"stopped after {tiny[1].n_ctx - len(tok.encode('The dog'))} new tokens" in naive.stderr
    slid = json_of(run("--kv-cache", "--sliding-window"))
    assert len(slid["generated_ids"]) == 70


@pytest.fixture(scope="module")
def eos_model(tmp_path_factory):
    """The tiny model altered so that <|endoftext|> is always by far the likeliest next token."""
    t = tiny_tensors()
    t["ln_f.weight"][:] = 0
    t["ln_f.bias"][:] = 1
    t["wte.weight"][50256] = 100
    return write(tmp_path_factory.mktemp("eos"), t, tiny_config())


def test_generation_stops_at_end_of_text_unless_told_otherwise(eos_model):
    def generated(*extra):
        result = run_main("Hi", "--model", eos_model, "-n", "5", "--json", *extra)
        assert result.returncode == 0 and "note" not in result.stderr, result.stderr
        return json_of(result)["generated_ids"]
    assert generated() == [50256]
    assert generated("--kv-cache") == [50256]
    assert generated("--ignore-eos") == [50256] * 5
