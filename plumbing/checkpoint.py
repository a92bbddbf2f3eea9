"""Read tensors from a .safetensors file: an 8-byte header length, a JSON header, then raw bytes.

Called by load.py. The header maps each tensor's name to its dtype, shape and byte range in the
data that follows; nothing in the file is ever executed (unlike a pickle). The safetensors package,
made for these files and hardened against malformed ones, checks the header and reads the tensors:
it maps the file into memory and copies each tensor out of it into an array of its own. The mapped
pages are the kernel's file cache, which it reclaims; the memory the run itself needs (RssAnon) is
the arrays, about the size of the weights. float16 tensors are converted to float32 once. bfloat16
has no NumPy type, so the library cannot hand it over as an array: those bytes are read here, at the
offset the checked header gives, and widened to float32 (a bfloat16 is the top half of a float32).
"""
import json
import math
import os
import re
from dataclasses import dataclass

import numpy as np
from safetensors import safe_open

from config import ModelError

ITEM_SIZE = {"F32": 4, "F16": 2, "BF16": 2}


@dataclass(frozen=True)
class Entry:
    dtype: str  # "F32", "F16" or "BF16"
    shape: tuple
    offset: int  # where its bytes start in the file


def read_header(f, path):
    """(the file opened by the safetensors package, {name: Entry} for every tensor in it).

    The safetensors package checks the whole header (offsets that overlap, leave gaps, point into the
    header or past the end, or disagree with a tensor's shape and dtype; duplicate names; shapes and
    offsets that are not whole numbers; nesting): it is the library made for this and hardened against
    malformed files, and each tensor's dtype and shape are its answers. The file it opens is the one
    read_tensor reads from. Only the offsets that bfloat16 tensors need are read here, from the checked
    header: the package has no public way to give them. f is the same file, opened for plain reads."""
    try:
        tensors = safe_open(path, "numpy")  # maps the file and checks its header
    except Exception as e:  # noqa: BLE001 -- SafetensorError, and others for files that are not safetensors at all
        raise corrupt(path, f"the safetensors package says: {(str(e).splitlines() or [type(e).__name__])[0]}") from None
    n = int.from_bytes(f.read(8), "little")
    starts = {name: info["data_offsets"][0] for name, info in json.loads(f.read(n)).items() if name != "__metadata__"}
    return tensors, {name: Entry(tensors.get_slice(name).get_dtype(), tuple(tensors.get_slice(name).get_shape()),
                                 8 + n + starts[name]) for name in tensors.keys()}


def check_dtype(name, entry: Entry, path):
    """The tensors GPT-2 needs must be floats; others (mask buffers saved as uint8 or bool) are never read."""
    if entry.dtype not in ITEM_SIZE:
        raise ModelError(f"{path}: tensor {name} is {entry.dtype}; only F32, F16 and BF16 are read")


def read_tensor(tensors, f, key, entry: Entry):
    """One tensor as a float32 array: tensors is the file opened by safe_open, f the same file opened
    for plain reads (bfloat16 only), key the tensor's name in the file."""
    if entry.dtype != "BF16":
        return tensors.get_tensor(key).astype(np.float32, copy=False)  # F32 as it is, F16 widened
    f.seek(entry.offset)
    count = math.prod(entry.shape)
    x = (np.fromfile(f, "<u2", count).astype(np.uint32) << 16).view(np.float32)  # shift the bits into place
    assert x.size == count, "read_header checked that every tensor fits in the file"
    return x.reshape(entry.shape)


def corrupt(path, why):
    return ModelError(f"{os.path.realpath(path)} is truncated or corrupt ({why}); delete it and run again "
                      "(a hub model is then downloaded anew)")  # realpath: in the hub cache, the blob, not its link


def shards(index):
    """The part files a model.safetensors.index.json names (plain file names; anything else is refused)."""
    try:
        with open(index, encoding="utf-8") as f:
            parts = sorted(set(json.load(f)["weight_map"].values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelError(f"{index} is not a safetensors index ({type(e).__name__})") from None
    if not all(isinstance(p, str) and re.fullmatch(r"[\w.-]+\.safetensors", p) for p in parts):
        raise ModelError(f"{index} names files that are not .safetensors files beside it")
    return parts
