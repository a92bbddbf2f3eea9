"""Bring GPT-2's weights into memory: a model name or folder -> (params, config).

Called by main.py, which first turns the name into a folder (model_folder) and reads the tokenizer
there, then loads the weights. A name is a Hugging Face hub repository ("gpt2" is short for
"openai-community/gpt2"); its files are downloaded once into the Hugging Face cache and read from
there afterwards, without asking the network again. A folder is used as it is.

Only config.json, model.safetensors and the tokenizer files are ever requested. Hub repositories
also hold pickle weights (pytorch_model.bin); loading a pickle runs whatever code it contains, so
they are never downloaded nor opened.

Every tensor's name and shape is checked against the config before it is read (plumbing/checkpoint.py
reads the file), and kept as float32.
"""
import contextlib
import os
import re
from typing import NamedTuple

import numpy as np

from config import DEFAULT_MODEL, Config, ModelError, read_config
from params import GPT2, MLP, Attention, Block, LayerNorm, Linear
from plumbing.checkpoint import check_dtype, read_header, read_tensor, shards
from tokenizer import GPT2Tokenizer, load_tokenizer

SHORT_NAMES = {
    "gpt2": DEFAULT_MODEL,
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
    "distilgpt2": "distilbert/distilgpt2",
}
HUB_ID = r"[\w-][\w.-]*(/[\w-][\w.-]*)?"  # "gpt2", "openai-community/gpt2"
PICKLE_WEIGHTS = ("pytorch_model.bin", "model.ckpt.index", "tf_model.h5", "flax_model.msgpack")


class Model(NamedTuple):
    """A model as a run uses it: its weights, its config and its tokenizer, loaded once."""
    name: str  # as --model gave it
    params: GPT2
    config: Config
    tok: GPT2Tokenizer


def load_checkpoint(name, folder) -> Model:
    """The model in folder (model_folder's), its tokenizer checked to be its own."""
    tok = load_tokenizer(folder)  # first: it is quick, and a folder without one fails at once
    params, config = load_model(folder)
    if tok.size > config.vocab_size:
        raise ModelError(f"the tokenizer in {folder} has {tok.size} tokens but the model only {config.vocab_size}: "
                         "they come from different models")
    return Model(name, params, config, tok)


def load_model(name_or_folder=DEFAULT_MODEL):
    folder = model_folder(name_or_folder)
    config = read_config(os.path.join(folder, "config.json"))
    return load_params(weight_files(folder), config), config


def model_folder(name_or_folder):
    """The folder holding the model's files: the argument itself, or the download of a hub name.

    "owner/name" could be either, so: a path written as one (./x, ../x, /x, ~/x, a/b/c, a trailing
    slash) or whose first part is a folder here is a folder; a hub name ("gpt2", "owner/name") that
    is also a folder here is refused rather than guessed; anything else is a hub name.
    """
    name = os.path.expanduser(name_or_folder)
    written_as_path = name.startswith((".", "/")) or name.endswith("/") or name.count("/") > 1
    hub_like = re.fullmatch(HUB_ID, name) and not written_as_path
    if os.path.isdir(name):
        if hub_like and (name in SHORT_NAMES or "/" in name):
            raise ModelError(f"{name} is both a folder here and a model name on the hub: write ./{name} for the "
                             "folder, or run from another folder for the hub's")
        return name
    if not hub_like or "/" in name and os.path.isdir(name.split("/")[0]):
        raise ModelError(f"there is no folder {name_or_folder}")
    from plumbing.hub import download  # here: huggingface_hub takes a fifth of a second to import, and a folder needs none of it
    return download(SHORT_NAMES.get(name, name))


def expected_shapes(config: Config):
    """Every tensor GPT-2 needs, by its checkpoint name, with the shape the config implies."""
    n_embd, n_inner = config.n_embd, config.n_inner
    shapes = {"wte.weight": (config.vocab_size, n_embd), "wpe.weight": (config.n_ctx, n_embd),
              "ln_f.weight": (n_embd,), "ln_f.bias": (n_embd,)}
    for i in range(config.n_layer):
        for name, n_in, n_out in (("attn.c_attn", n_embd, 3 * n_embd), ("attn.c_proj", n_embd, n_embd),
                                  ("mlp.c_fc", n_embd, n_inner), ("mlp.c_proj", n_inner, n_embd)):
            shapes[f"h.{i}.{name}.weight"] = (n_in, n_out)  # Conv1D layout: [in, out], no transpose later
            shapes[f"h.{i}.{name}.bias"] = (n_out,)
        for name in ("ln_1", "ln_2"):
            shapes[f"h.{i}.{name}.weight"] = shapes[f"h.{i}.{name}.bias"] = (n_embd,)
    return shapes


def is_mask_buffer(name):
    """The hub's files carry a precomputed causal mask, h.{i}.attn.bias (and sometimes masked_bias).
    It is not a parameter (attention.py builds the mask) and is not kept. Careful: h.{i}.attn.c_attn.bias
    is a real parameter; only the name ending right after "attn." is the buffer."""
    parts = name.split(".")
    return len(parts) == 4 and parts[0] == "h" and parts[2] == "attn" and parts[3] in ("bias", "masked_bias")


def weight_files(folder):
    """model.safetensors, or the parts that model.safetensors.index.json lists (large models are often
    saved in parts of a few GB each)."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.isfile(os.path.join(folder, "model.safetensors")):
        return [os.path.join(folder, "model.safetensors")]
    if os.path.isfile(index):
        parts = shards(index)
        paths = [os.path.join(folder, part) for part in parts]
        absent = [p for p in paths if not os.path.isfile(p)]
        if absent:
            raise ModelError(f"{index} lists {os.path.basename(absent[0])}, which is not in {folder}")
        return paths
    if any(os.path.exists(os.path.join(folder, f)) for f in PICKLE_WEIGHTS):
        raise ModelError(f"{folder} has weights only in pickle or TensorFlow form, never loaded here "
                         "(opening a pickle runs the code inside it); convert them to model.safetensors")
    raise ModelError(f"there is no model.safetensors in {folder}")


def load_params(paths, config: Config) -> GPT2:
    """The weights from one .safetensors file or the parts of a sharded one, checked against the config."""
    with contextlib.ExitStack() as stack:
        where = {}  # tensor name, without save_pretrained's "transformer." prefix -> (path, name in the file, entry)
        files = {}  # path -> (the file opened by the safetensors package, the file opened for plain reads)
        for path in paths:
            f = stack.enter_context(open(path, "rb"))
            tensors, entries = read_header(f, path)
            files[path] = (stack.enter_context(tensors), f)
            for key, entry in entries.items():
                where[key.removeprefix("transformer.")] = (path, key, entry)

        def read(name):
            path, key, entry = where[name]
            return read_tensor(*files[path], key, entry)

        label = paths[0] if len(paths) == 1 else os.path.dirname(paths[0])
        expected = expected_shapes(config)
        check_names(set(where), expected, label)
        check_shapes({name: where[name][2].shape for name in expected}, expected, label)
        for name in expected:
            check_dtype(name, where[name][2], where[name][0])
        tensors = {name: read(name) for name in expected}
        broken = next((name for name, t in tensors.items() if not np.isfinite([t.min(), t.max()]).all()), None)
        if broken:  # one NaN spreads to every logit it touches; min and max are NaN or inf if any value is
            raise ModelError(f"{where[broken][0]} holds NaN or infinite values in {broken}; the file is damaged")
        if "lm_head.weight" in where and not np.array_equal(read("lm_head.weight"), tensors["wte.weight"]):
            raise ModelError(f"{label} has an output projection different from wte; GPT-2 ties them")
    return to_params(tensors, config)


def check_names(names, expected, path):
    missing = sorted(set(expected) - names)
    unexpected = sorted(n for n in names - set(expected) if not is_mask_buffer(n) and n != "lm_head.weight")
    if missing or unexpected:
        raise ModelError(f"{path} does not match its config.json: "
                         + "; ".join(f"{what}: {', '.join(found[:3])}" + (" ..." if len(found) > 3 else "")
                                     for what, found in (("missing", missing), ("unexpected", unexpected))
                                     if found))


def check_shapes(shapes, expected, path):
    for name, shape in expected.items():
        if shapes[name] != shape:
            raise ModelError(f"{path} does not match its config.json: {name} has shape "
                             f"{list(shapes[name])}, the config implies {list(shape)}")


def to_params(t, config: Config) -> GPT2:
    def norm(name):
        return LayerNorm(t[f"{name}.weight"], t[f"{name}.bias"])

    def linear(name):
        return Linear(t[f"{name}.weight"], t[f"{name}.bias"])

    blocks = tuple(Block(ln_1=norm(f"h.{i}.ln_1"),
                         attn=Attention(linear(f"h.{i}.attn.c_attn"), linear(f"h.{i}.attn.c_proj")),
                         ln_2=norm(f"h.{i}.ln_2"),
                         mlp=MLP(linear(f"h.{i}.mlp.c_fc"), linear(f"h.{i}.mlp.c_proj")))
                   for i in range(config.n_layer))
    return GPT2(wte=t["wte.weight"], wpe=t["wpe.weight"], h=blocks, ln_f=norm("ln_f"))
