"""--tokens: how the prompt is cut into tokens, with GPT-2's byte-level details made visible.

GPT-2's vocabulary is made of bytes, not characters. To store byte strings as JSON text, vocab.json
maps each of the 256 byte values to a printable character: the printable ones stand for themselves,
the others (space, newline, control bytes...) are moved to the characters from chr(256) on. That is
why the vocabulary spells " dog" as "Ġdog": Ġ is chr(256 + 32), the space. A character outside the
vocabulary's merges is spelled as several byte tokens, and such a token holds only part of it.
"""
from typing import NamedTuple

from lessons.bpe import END_OF_TEXT, byte_symbols, merge_steps, pieces, tables
from tokenizer import GPT2Tokenizer


PRINTABLE_TO_BYTE = {c: b for b, c in byte_symbols().items()}  # the inverse of GPT-2's byte -> character map


def token_bytes(tok: GPT2Tokenizer, token_id) -> bytes:
    return bytes(PRINTABLE_TO_BYTE[c] for c in tok.entry(token_id) or "")


def token_text(tok: GPT2Tokenizer, token_id):
    """One token as the tools print it: its text quoted, or its bytes if they are not whole characters (or, for
    an id of a vocabulary padded beyond the tokenizer, that it has no text)."""
    if tok.entry(token_id) is None:
        return f"<id {token_id}: no token>"
    piece = token_bytes(tok, token_id)
    try:
        return repr(piece.decode("utf-8"))
    except UnicodeDecodeError:
        return "<" + " ".join(f"{b:02x}" for b in piece) + ">"


class TokenRow(NamedTuple):
    id: int
    entry: str  # as vocab.json writes it
    text: str  # as the tools show it (token_text)
    note: str


def describe(ids, tok: GPT2Tokenizer):
    """A TokenRow per token."""
    pieces = [token_bytes(tok, i) for i in ids]
    chars = char_spans(b"".join(pieces))
    rows, start = [], 0
    for token_id, piece in zip(ids, pieces):
        end = start + len(piece)
        text, note = token_text(tok, token_id), ""
        if text.startswith("<"):  # bytes, not whole characters
            whole = "".join(c for c, s, e in chars if s < end and e > start)
            note = f"{len(piece)} of the {len(whole.encode())} UTF-8 bytes of {whole!r}"
        elif piece.startswith(b" "):
            note = "a word keeps the space before it"
        if token_id == tok.eos_id:
            note = "the special token that separated documents in training"
        rows.append(TokenRow(token_id, tok.entry(token_id), text, note))
        start = end
    return rows


def char_spans(data: bytes):
    """(character, first byte, end byte) for each character of the UTF-8 text."""
    spans, start = [], 0
    for c in data.decode("utf-8", errors="replace"):
        n = len(c.encode("utf-8")) if c != "\ufffd" else 1
        spans.append((c, start, start + n))
        start += n
    return spans


def print_tokens(rows):
    """--tokens: rows are describe's, as --json holds them ({"id", "entry", "text", "note"})."""
    print(f"{len(rows)} tokens:")
    print(f"{'#':>4} {'id':>6}  {'vocab.json entry':<18} {'text':<22} note")
    for n, row in enumerate(rows):
        print(f"{n:>4} {row['id']:>6}  {row['entry']:<18} {row['text']:<22} {row['note']}")
    print()


def bpe_work(text, tok: GPT2Tokenizer):
    """--bpe: the work of lessons/bpe.py on the prompt, as --json holds it: the pieces the pattern cuts, and the
    merges of the longest piece ({"pieces", "longest", "bytes", "merges": [{"pair", "rank", "symbols"}], "ids"})."""
    vocab, ranks = tables(tok.as_json())
    cut = [p for part in text.split(END_OF_TEXT) for p in pieces(part)]
    work = {"pieces": cut, "took_out_end_of_text": END_OF_TEXT in text}
    if not cut:
        return work
    piece = max(cut, key=lambda p: len(p.encode("utf-8")))
    symbol = byte_symbols()
    start = [symbol[b] for b in piece.encode("utf-8")]
    steps = merge_steps(start, ranks)
    merges = [{"pair": list(pair), "rank": ranks[pair], "symbols": symbols} for pair, symbols in steps]
    ids = [vocab[s] for s in (steps[-1][1] if steps else start)]
    return dict(work, longest=piece, bytes=start, merges=merges, ids=ids)


def print_bpe(work):
    print(f"byte-pair encoding (lessons/bpe.py): the pattern cuts the text into {len(work['pieces'])} pieces"
          + (f", after taking out {END_OF_TEXT}" if work["took_out_end_of_text"] else ""))
    print("  " + " ".join(repr(p) for p in work["pieces"]))
    if not work["pieces"]:
        return print()
    print(f"the merges of {work['longest']!r}, the longest piece: each joins the pair learnt earliest (#: its rank in "
          "merges.txt)\n  wherever it occurs in the piece")
    print(f"  {'bytes':<24} {' '.join(work['bytes'])}")
    for merge in work["merges"]:
        (a, b), rank = merge["pair"], merge["rank"]
        print(f"  {f'{a} + {b} (#{rank})':<24} {' '.join(merge['symbols'])}")
    print(f"  {'ids':<24} {' '.join(str(i) for i in work['ids'])}")
    print()
