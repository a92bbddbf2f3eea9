"""The real GPT-2 tokenizer (OpenAI's vocab.json and merges.txt) against published token ids."""
import os

import pytest

from conftest import TINY
from tokenizer import byte_level_bpe, load_tokenizer

# Ids published for openai-community/gpt2: transformers' tokenizer tests, minGPT's bpe.py, and OpenAI's
# vocab.json + merges.txt run through their original encoder.py.
KNOWN_IDS = [
    ("Hello world", [15496, 995]),
    ("hello world", [31373, 995]),
    (" Hello world", [18435, 995]),
    ("Hello, my dog is cute", [15496, 11, 616, 3290, 318, 13779]),
    ("hello 👋 world 🌍", [31373, 50169, 233, 995, 12520, 234, 235]),
    ("indivisible", [521, 452, 12843]),
    ("This is some text", [1212, 318, 617, 2420]),
    (" ", [220]),
    ("\t", [197]),
    ("0000000000000000", [25645]),
    ("000", [830]),
    ("café naïve", [66, 1878, 2634, 41492]),
    ("😀 emoji", [47249, 222, 44805]),
    ("Hello<|endoftext|>world", [15496, 50256, 6894]),
    ("The dog", [464, 3290]),
    ("Alan Turing theorized that computers would one day become",
     [36235, 39141, 18765, 1143, 326, 9061, 561, 530, 1110, 1716]),
]


@pytest.fixture(scope="module", params=["vocab.json + merges.txt", "tokenizer.json"])
def any_tok(request, tmp_path_factory):
    """The tokenizer both ways a folder can hold it."""
    if request.param == "vocab.json + merges.txt":
        return load_tokenizer(TINY)
    folder = tmp_path_factory.mktemp("with-tokenizer-json")
    byte_level_bpe(os.path.join(TINY, "vocab.json"), os.path.join(TINY, "merges.txt")).save(
        str(folder / "tokenizer.json"))
    return load_tokenizer(str(folder))


@pytest.mark.parametrize("text, ids", KNOWN_IDS)
def test_encode_gives_the_published_ids(any_tok, text, ids):
    assert any_tok.encode(text) == ids


@pytest.mark.parametrize("text, ids", KNOWN_IDS)
def test_decode_gives_the_text_back(any_tok, text, ids):
    assert any_tok.decode(ids) == text


def test_end_of_text_is_the_special_token_50256(any_tok):
    assert any_tok.eos_id == 50256
    assert len(any_tok.as_json()["model"]["vocab"]) == 50257


def test_a_token_holding_part_of_a_character_decodes_to_the_replacement_character(tok):
    first, second = tok.encode("👋")[:1], tok.encode("👋")
    assert tok.decode(first).endswith("\ufffd") and tok.decode(second) == "👋"
