"""The BPE lesson (lessons/bpe.py) gives exactly the ids of the `tokenizers` package that the program runs."""
import os
import random

import pytest

from conftest import ROOT, TINY, run_main
from lessons.bpe import encode, load_bpe, merge_steps, pieces, tables
from published import TOKEN_IDS

ALPHABET = [
    "the", " cat", "Yellow", "COLOR", "naïve", "Straße", "ﬁne", "Ελλάδα", "Москва", "東京", "一二三", "한국어", "مرحبا", "हिन्दी",
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "’s", "0", "42", "2024", "3.14", "1,000", "²", "½", "Ⅻ", "٣",
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u3000", "\u00a0", "\u2028", "\x85", "\x1c", "\x0b", "\x0c",
    "!", "?!", "...", "--", "—", "«", "»", "(", ")", "[", "]", "{", "}", "#", "@", "$", "%", "&", "*", "_", "__init__",
    "😀", "👋🏽", "👨‍👩‍👧", "🇫🇷", "🤗", "❤️", "é", "e\u0301", "\x00", "\x7f", "\ufffd", "<|endoftext|>", "<|endoftext", "|>",
]


@pytest.fixture(scope="module")
def bpe():
    return load_bpe(TINY)


def varied_lines(n, seed=0):
    """n random lines: words, contractions, digits, whitespace runs, emoji, scripts, symbols, the special token."""
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))) for _ in range(n)]


@pytest.mark.parametrize("text, ids", TOKEN_IDS)
def test_published_ids(bpe, text, ids):
    assert encode(text, *bpe) == ids


def test_the_readme_and_this_projects_files_encode_the_same(bpe, tok):
    texts = []
    for folder, _, files in os.walk(ROOT):
        if ".venv" in folder or ".git" in folder or "fixtures" in folder:
            continue
        texts += [open(os.path.join(folder, f), encoding="utf-8").read() for f in files if f.endswith((".md", ".py"))]
    assert len(texts) > 20
    for text in texts:
        assert encode(text, *bpe) == tok.encode(text)


def test_thousands_of_varied_lines_encode_the_same(bpe, tok):
    for line in varied_lines(3000):
        assert encode(line, *bpe) == tok.encode(line), repr(line)


def test_a_tokenizer_json_gives_the_same_tables(bpe, tok):
    vocab, ranks = tables(tok.as_json())
    assert vocab == bpe[0] and ranks == bpe[1]


def test_the_pieces_and_the_merges_of_one_piece(bpe):
    assert pieces("It's 2024,  the cat's\tnaïve!!") == ["It", "'s", " 2024", ",", " ", " the", " cat", "'s", "\t", "naïve", "!!"]
    vocab, ranks = bpe
    steps = merge_steps(list("Ġyellow"), ranks)
    assert steps[-1][1] == ["Ġyellow"] and vocab["Ġyellow"] == 7872
    before = list("Ġyellow")
    for pair, after in steps:  # each step joins one pair, everywhere it occurs, into one symbol
        assert "".join(after) == "Ġyellow" and "".join(pair) in after and len(after) < len(before)
        before = after
    assert [ranks[pair] for pair, _ in steps] == sorted(ranks[pair] for pair, _ in steps), "earliest-learnt first"


def test_the_cli_shows_the_pieces_and_the_merges_of_the_longest(tok):
    text = "The animal is yellow. Indivisibility<|endoftext|>"
    out = run_main(text, "--model", TINY, "-n", "0", "--bpe").stdout.splitlines()
    assert out[0].startswith("byte-pair encoding (lessons/bpe.py): the pattern cuts the text into 6 pieces")
    assert out[1] == "  'The' ' animal' ' is' ' yellow' '.' ' Indivisibility'"
    assert out[4].split() == ["bytes"] + list("ĠIndivisibility")
    ids = next(line for line in out if line.startswith("  ids")).split()[1:]
    assert [int(i) for i in ids] == tok.encode(" Indivisibility") == [1423, 452, 271, 2247]
