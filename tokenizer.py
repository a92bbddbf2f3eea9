"""GPT-2's tokenizer: text <-> token ids, a thin wrapper over the `tokenizers` package.

Called by main.py. GPT-2 reads bytes, not characters: the UTF-8 bytes of the text are mapped to 256
printable symbols, the text is cut into word-like pieces (a word keeps the space before it: " cat"),
and byte-pair encoding merges frequent pairs of symbols, in the order of merges.txt, until each piece
is a sequence of the 50,257 entries of vocab.json. Any string can be encoded; a character outside
the vocabulary is spelled as several byte tokens (an emoji is often two or three). So a single token
may hold only part of a character, and only a whole sequence is guaranteed to decode to valid text.

<|endoftext|> (id 50256) is GPT-2's one special token: it separated documents in training.
"""
import json
import os
from dataclasses import dataclass

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from config import ModelError

END_OF_TEXT = "<|endoftext|>"


@dataclass(frozen=True)
class GPT2Tokenizer:
    backend: Tokenizer
    eos_id: int  # the id of <|endoftext|>
    size: int  # how many ids it can produce: the model's vocab_size must cover them

    def encode(self, text: str) -> list:
        return self.backend.encode(text).ids

    def decode(self, ids) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=False)

    def entry(self, token_id) -> str:
        """The token as vocab.json writes it (a space is "Ġ", see instruments/token_view.py)."""
        return self.backend.id_to_token(token_id)

    def as_json(self) -> dict:
        """The whole tokenizer as tokenizer.json holds it: vocabulary, merges, pre-tokenizer."""
        return json.loads(self.backend.to_str())


def load_tokenizer(folder) -> GPT2Tokenizer:
    """The tokenizer in a model's folder (load.model_folder turns a hub name into one)."""
    json_path = os.path.join(folder, "tokenizer.json")
    vocab, merges = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    if not os.path.isfile(json_path) and not (os.path.isfile(vocab) and os.path.isfile(merges)):
        raise ModelError(f"{folder} has no tokenizer: it needs tokenizer.json, or vocab.json and merges.txt")
    try:
        backend = Tokenizer.from_file(json_path) if os.path.isfile(json_path) else byte_level_bpe(vocab, merges)
    except Exception as e:  # noqa: BLE001 -- the tokenizers package raises plain Exceptions for unreadable files
        files = [json_path] if os.path.isfile(json_path) else [vocab, merges]
        raise ModelError(f"cannot read the tokenizer in {', '.join(os.path.realpath(f) for f in files)}: "
                         f"{(str(e).splitlines() or [type(e).__name__])[0]}; fix or delete it (a hub model's file is "
                         "then downloaded anew)") from None
    eos_id = backend.token_to_id(END_OF_TEXT)
    if eos_id is None:
        raise ModelError(f"the tokenizer in {folder} has no {END_OF_TEXT} token")
    return GPT2Tokenizer(backend, eos_id, backend.get_vocab_size(with_added_tokens=True))


def byte_level_bpe(vocab, merges) -> Tokenizer:
    """The same tokenizer as the hub's tokenizer.json for gpt2, built from the two original files."""
    backend = Tokenizer(models.BPE.from_file(vocab, merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([END_OF_TEXT])  # matched whole, before BPE, and never split
    return backend
