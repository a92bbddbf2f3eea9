"""lessons/one_function.py, GPT-2 in one function, gives model.forward's logits bit for bit: the same operations
in the same order. Past attention.QUERY_ROWS tokens the chain's attend sums its queries in slices, and the two
agree at float32 round-off (tested with QUERY_ROWS made 3)."""
import subprocess
import sys

import numpy as np
import pytest

from conftest import LOGITS_ATOL, ROOT, TINY, assert_close
from lessons.one_function import gpt2
from load import load_model
from model import forward
from tokenizer import load_tokenizer

INDUCTION = f"{ROOT}/tests/fixtures/induction-gpt2"
PROMPTS = {TINY: ["The color of the cat", "Hello", "The animal is yellow. It's a cat. It's color is yellow."],
           INDUCTION: ["<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "ab"]}


@pytest.mark.parametrize("folder", PROMPTS, ids=["tiny", "induction"])
def test_one_function_is_the_forward_pass_bit_for_bit(folder):
    params, config = load_model(folder)
    tok = load_tokenizer(folder)
    for prompt in PROMPTS[folder]:
        ids = tok.encode(prompt)
        logits = gpt2(ids, params, config)
        assert logits.dtype == np.float32
        assert np.array_equal(logits, forward(ids, params, config)), prompt


def test_past_query_rows_it_agrees_at_round_off(monkeypatch):
    import attention
    monkeypatch.setattr(attention, "QUERY_ROWS", 3)
    params, config = load_model(TINY)
    ids = load_tokenizer(TINY).encode("The animal is yellow. It's a cat. It's color is yellow.")
    assert_close(gpt2(ids, params, config), forward(ids, params, config).astype(np.float64), LOGITS_ATOL,
                 "one function against the chain with attend in slices")


@pytest.mark.parametrize("ids", [[], list(range(65)), [1.5], "ab", [50257], [-1], [True]])
def test_gpt2_in_one_function_refuses_ids_it_cannot_read(tiny, ids):
    with pytest.raises(ValueError, match="gpt2 reads 1 to 64 token ids, whole numbers 0 to 50256"):
        gpt2(ids, *tiny)


@pytest.mark.parametrize("args, said", [([TINY, "a " * 100], "error: gpt2 reads 1 to 64 token ids"),
                                        (["/nonexistent", "hi"], "error: there is no folder /nonexistent")])
def test_the_lessons_command_line_ends_in_one_sentence(args, said):
    result = subprocess.run([sys.executable, "-m", "lessons.one_function", *args], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 1 and result.stderr.startswith(said) and "Traceback" not in result.stderr
    empty = subprocess.run([sys.executable, "-m", "lessons.one_function", TINY, ""], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    assert empty.returncode == 0 and "1 tokens" in empty.stdout, "an empty prompt is <|endoftext|>, as main.py's"
