"""The real GPT-2 tokenizer (OpenAI's vocab.json and merges.txt) against published token ids."""
import os

import pytest

from conftest import TINY
from published import TOKEN_IDS
from tokenizer import byte_level_bpe, load_tokenizer

@pytest.fixture(scope="module", params=["vocab.json + merges.txt", "tokenizer.json"])
def any_tok(request, tmp_path_factory):
    """The tokenizer both ways a folder can hold it."""
    if request.param == "vocab.json + merges.txt":
        return load_tokenizer(TINY)
    folder = tmp_path_factory.mktemp("with-tokenizer-json")
    byte_level_bpe(os.path.join(TINY, "vocab.json"), os.path.join(TINY, "merges.txt")).save(
        str(folder / "tokenizer.json"))
    return load_tokenizer(str(folder))


@pytest.mark.parametrize("text, ids", TOKEN_IDS)
def test_encode_gives_the_published_ids(any_tok, text, ids):
    assert any_tok.encode(text) == ids


@pytest.mark.parametrize("text, ids", TOKEN_IDS)
def test_decode_gives_the_text_back(any_tok, text, ids):
    assert any_tok.decode(ids) == text


def test_end_of_text_is_the_special_token_50256(any_tok):
    assert any_tok.eos_id == 50256
    assert len(any_tok.as_json()["model"]["vocab"]) == 50257


def test_a_token_holding_part_of_a_character_decodes_to_the_replacement_character(tok):
    first, second = tok.encode("👋")[:1], tok.encode("👋")
    assert tok.decode(first).endswith("\ufffd") and tok.decode(second) == "👋"
