"""Byte-pair encoding: how GPT-2 turns text into ids, in plain Python. text -> [n_seq] ids.

The program runs the `tokenizers` package (tokenizer.py), which is fast; this file computes the same
ids slowly, so that the one stage of GPT-2 that is not a matrix can be read too. The tests check that
both give the same ids on thousands of strings.

Three steps.
1. Bytes, not characters. The text is UTF-8 encoded, so any string can be tokenized, in any script,
   with 256 symbols to start from. vocab.json stores tokens as text, so each byte is written as one
   printable character: the printable bytes as themselves, the others (space, newline, control
   bytes...) as the characters from chr(256) on. That is why a space shows as "Ġ" (chr(256 + 32)).
2. Pieces. A regular expression cuts the text into word-like pieces before any merging, so that a
   token never spans two words: an optional space and a run of letters (" cat"), of digits, or of
   other symbols; a few English contractions ("'s", "'ll"); runs of whitespace. A word keeps the
   space before it, which is why " cat" and "cat" are different tokens.
3. Merges. merges.txt lists pairs of symbols in the order they were learnt from GPT-2's training
   text, most frequent first. Each piece starts as a list of single bytes; the pair in it that comes
   earliest in merges.txt is merged into one symbol, and again, until no pair of the piece is in the
   list. Each remaining symbol is an entry of vocab.json, whose number is the token id.

<|endoftext|> is not made by merges: it is cut out of the text first and given its id whole.
"""
import functools
import json
import os
import re
import sys
import unicodedata

END_OF_TEXT = "<|endoftext|>"


@functools.lru_cache(maxsize=None)  # built once
def byte_symbols():
    """{byte: the printable character vocab.json writes it as}."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + i) for i, b in enumerate(others)}}


def char_class(categories):
    """A regular-expression class of every character whose Unicode category starts with one of
    `categories`, as ranges. GPT-2's pattern says \\p{L} (letters) and \\p{N} (numbers), which Python's
    re module does not know; this builds them from the Unicode database instead."""
    ranges, start = [], None
    for code in range(sys.maxunicode + 2):
        inside = code <= sys.maxunicode and unicodedata.category(chr(code))[0] in categories
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            ranges.append(f"\\U{start:08x}-\\U{code - 1:08x}")
            start = None
    return "".join(ranges)


# Unicode's White_Space characters. Python's \s also takes the separators \x1c to \x1f, which GPT-2's
# tokenizer does not count as space.
SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


@functools.lru_cache(maxsize=None)  # on first use: scanning all of Unicode takes half a second
def pattern():
    """GPT-2's pattern, from OpenAI's encoder.py, with \\p{L}, \\p{N} and \\s spelt out."""
    letters, numbers = char_class("L"), char_class("N")
    return re.compile(rf"""'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{SPACE}{letters}{numbers}]+"""
                      rf"""|[{SPACE}]+(?![^{SPACE}])|[{SPACE}]+""")


def pieces(text):
    """Step 2: the word-like pieces of a text (which holds no <|endoftext|>)."""
    return pattern().findall(text)


def merge_steps(symbols, ranks):
    """Step 3 on one piece: [(the pair merged, the symbols after the merge)], until no pair is in merges.txt."""
    steps = []
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b), len(ranks)), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
        rank, _ = min(pairs)
        if rank == len(ranks):  # no pair of this piece was ever merged
            break
        pair = next((symbols[i], symbols[i + 1]) for r, i in pairs if r == rank)
        merged, i = [], 0
        while i < len(symbols):  # every occurrence of the pair, left to right
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
        steps.append((pair, symbols))
    return steps


def encode_piece(piece, vocab, ranks, symbol):
    start = [symbol[b] for b in piece.encode("utf-8")]  # step 1
    steps = merge_steps(start, ranks)
    return [vocab[s] for s in (steps[-1][1] if steps else start)]


def encode(text, vocab, ranks):
    """text -> ids, as GPT-2's tokenizer gives them."""
    symbol = byte_symbols()
    ids = []
    for n, part in enumerate(text.split(END_OF_TEXT)):
        if n:
            ids.append(vocab[END_OF_TEXT])
        for piece in pieces(part):
            ids += encode_piece(piece, vocab, ranks, symbol)
    return ids


def load_bpe(folder):
    """(vocab {symbol: id}, ranks {(left, right): rank}) from the two files GPT-2 was released with."""
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
        merges = [line.split() for line in f.read().splitlines()[1:] if line]  # the first line is a version
    return vocab, {tuple(pair): rank for rank, pair in enumerate(merges)}


def tables(tokenizer_json):
    """The same two tables from the model part of a tokenizer.json, which holds both."""
    model = tokenizer_json["model"]
    merges = [m.split() if isinstance(m, str) else m for m in model["merges"]]
    vocab = {**model["vocab"], **{t["content"]: t["id"] for t in tokenizer_json.get("added_tokens", [])}}
    return vocab, {tuple(pair): rank for rank, pair in enumerate(merges)}
