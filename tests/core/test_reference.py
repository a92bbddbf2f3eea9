"""The tiny checkpoint's logits, block by block states and greedy ids equal Hugging Face transformers'."""
import numpy as np
import pytest

from attention import causal_mask
from conftest import LOGITS_ATOL, STATES_ATOL, assert_close
from generate import generate
from layer import block
from model import forward


def test_fixture_is_the_version_these_tests_expect(ref):
    assert int(ref["fixture_version"]) == 1, "re-run tests/reference/make_fixtures.py"


@pytest.mark.parametrize("i", [0, 1])
def test_tokenizer_gives_the_ids_transformers_used(i, ref, tok):
    assert tok.encode(str(ref[f"prompt{i}"])) == ref[f"ids{i}"].tolist()


@pytest.mark.parametrize("i", [0, 1])
def test_every_block_matches_transformers(i, ref, tiny, query_rows):
    """Checked stage by stage, so a failure names the first block that diverges."""
    params, config = tiny
    ids = ref[f"ids{i}"].tolist()
    expected = ref[f"states{i}"]  # [n_layer + 1, n_seq, n_embd]
    x = params.wte[ids] + params.wpe[:len(ids)]
    assert_close(x, expected[0], 1e-6, "embeddings")
    mask = causal_mask(len(ids))
    for layer, p in enumerate(params.h):
        x = block(x, p, config, mask)
        assert_close(x, expected[layer + 1], STATES_ATOL, f"residual stream after block {layer}")


@pytest.mark.parametrize("i", [0, 1])
def test_logits_at_every_position_match_transformers(i, ref, tiny, query_rows):
    params, config = tiny
    logits = forward(ref[f"ids{i}"].tolist(), params, config)
    assert logits.dtype == np.float32
    assert_close(logits, ref[f"logits{i}"], LOGITS_ATOL, f"logits of {str(ref[f'prompt{i}'])!r}")


def test_last_only_is_the_last_row_of_all_positions(ref, tiny):
    params, config = tiny
    ids = ref["ids0"].tolist()
    assert_close(forward(ids, params, config, last_only=True), forward(ids, params, config)[-1:], LOGITS_ATOL, "last row")


def test_greedy_ids_match_transformers_generate(ref, tiny, tok, query_rows):
    params, config = tiny
    prompt_ids = tok.encode(str(ref["greedy_prompt"]))
    expected = ref["greedy_ids"].tolist()
    assert prompt_ids == expected[:len(prompt_ids)]
    new_ids = list(generate(prompt_ids, params, config, max_new_tokens=len(expected) - len(prompt_ids)))
    assert prompt_ids + new_ids == expected
