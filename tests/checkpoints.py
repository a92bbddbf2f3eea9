"""Write small GPT-2 checkpoints of any shape and layout into a folder, for the loading tests."""
import json
import os
import pickle
import shutil

import numpy as np
from safetensors.numpy import load_file, save_file

TINY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tiny-gpt2")


def tiny_tensors():
    """The tiny fixture's tensors in the hub's layout (with its mask buffers)."""
    return load_file(os.path.join(TINY, "model.safetensors"))


def tiny_config():
    with open(os.path.join(TINY, "config.json")) as f:
        return json.load(f)


def write(folder, tensors, config, tokenizer=True):
    """A model folder: config.json, model.safetensors and (by default) GPT-2's tokenizer files."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    save_file(tensors, os.path.join(folder, "model.safetensors"))
    if tokenizer:
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(TINY, name), folder)
    return str(folder)


def save_pretrained_layout(tensors):
    """What transformers' save_pretrained writes: a "transformer." prefix and no mask buffers."""
    return {f"transformer.{k}": v for k, v in tensors.items() if not (k.endswith("attn.bias") and v.ndim == 4)}


def random_checkpoint(n_layer, n_head, n_embd, n_positions, vocab_size=50257, dtype=np.float32, seed=0):
    """Random weights of a GPT-2 of the given shape, hub layout, and its config."""
    rng = np.random.default_rng(seed)
    n_inner = 4 * n_embd
    shapes = {"wte.weight": (vocab_size, n_embd), "wpe.weight": (n_positions, n_embd),
              "ln_f.weight": (n_embd,), "ln_f.bias": (n_embd,)}
    for i in range(n_layer):
        shapes.update({f"h.{i}.ln_1.weight": (n_embd,), f"h.{i}.ln_1.bias": (n_embd,),
                       f"h.{i}.attn.c_attn.weight": (n_embd, 3 * n_embd), f"h.{i}.attn.c_attn.bias": (3 * n_embd,),
                       f"h.{i}.attn.c_proj.weight": (n_embd, n_embd), f"h.{i}.attn.c_proj.bias": (n_embd,),
                       f"h.{i}.ln_2.weight": (n_embd,), f"h.{i}.ln_2.bias": (n_embd,),
                       f"h.{i}.mlp.c_fc.weight": (n_embd, n_inner), f"h.{i}.mlp.c_fc.bias": (n_inner,),
                       f"h.{i}.mlp.c_proj.weight": (n_inner, n_embd), f"h.{i}.mlp.c_proj.bias": (n_embd,)})
    tensors = {k: (rng.standard_normal(s) * 0.5).astype(dtype) for k, s in shapes.items()}
    for i in range(n_layer):
        tensors[f"h.{i}.attn.bias"] = np.tril(np.ones((n_positions, n_positions), dtype))[None, None]
    config = dict(tiny_config(), n_layer=n_layer, n_head=n_head, n_embd=n_embd, n_positions=n_positions,
                  n_ctx=n_positions, vocab_size=vocab_size)
    return tensors, config


class LeavesAMark:
    """Unpickling this writes a file: proof that a pickle was loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def booby_trapped_pickle(marker):
    """The bytes of a pickle that, if ever unpickled, creates the file `marker`."""
    return pickle.dumps(LeavesAMark(str(marker)))


def sharded(folder, tensors, parts=3):
    """save_pretrained's sharded layout: model-0000i-of-0000n.safetensors and an index naming each tensor's part."""
    names = sorted(tensors)
    weight_map = {}
    for i in range(parts):
        part = f"model-{i + 1:05d}-of-{parts:05d}.safetensors"
        chunk = {name: tensors[name] for name in names[i::parts]}
        save_file(chunk, os.path.join(folder, part))
        weight_map.update({name: part for name in chunk})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
