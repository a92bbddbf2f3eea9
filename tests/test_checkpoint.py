"""checkpoint.py reads .safetensors files exactly as the safetensors package does."""
import json
import os

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from plumbing.checkpoint import read_header, read_tensor
from config import ModelError
from conftest import TINY


def read_all(path):
    with open(path, "rb") as f:
        return {name: read_tensor(f, e) for name, e in read_header(f, path).items()}


def test_every_tensor_of_the_fixture_equals_the_safetensors_packages():
    path = os.path.join(TINY, "model.safetensors")
    ours, theirs = read_all(path), load_file(path)
    assert ours.keys() == theirs.keys()
    for name in theirs:
        assert ours[name].dtype == np.float32 and np.array_equal(ours[name], theirs[name]), name


def test_float16_is_read_as_the_same_values_in_float32(tmp_path):
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float16)
    save_file({"x": x}, str(tmp_path / "h.safetensors"))
    got = read_all(str(tmp_path / "h.safetensors"))["x"]
    assert got.dtype == np.float32 and np.array_equal(got, x.astype(np.float32))


def test_bfloat16_is_the_top_half_of_float32(tmp_path):
    """safetensors.numpy cannot write bfloat16, so the file is written by hand, as the format describes."""
    values = np.array([[1.0, -2.5, 3.140625], [0.0, 1e-3, -65536.0]], np.float32)
    top_halves = (values.view(np.uint32) >> 16).astype("<u2")
    header = json.dumps({"x": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, top_halves.nbytes]}}).encode()
    path = tmp_path / "b.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + top_halves.tobytes())
    expected = (top_halves.astype(np.uint32) << 16).view(np.float32)  # each value cut to bfloat16
    got = read_all(str(path))["x"]
    assert got.dtype == np.float32 and np.array_equal(got, expected)
    assert np.allclose(got, values, rtol=2 ** -7)


def test_other_dtypes_are_refused_by_name(tmp_path):
    save_file({"ids": np.arange(4, dtype=np.int64)}, str(tmp_path / "i.safetensors"))
    with pytest.raises(ModelError, match="tensor ids is I64; only F32, F16 and BF16 are read"):
        read_all(str(tmp_path / "i.safetensors"))


@pytest.mark.parametrize("cut, why", [(4, "header runs past the end"), (100, "header runs past the end"),
                                      (-8, "does not fit in the file")])
def test_a_cut_file_is_refused(tmp_path, cut, why):
    data = open(os.path.join(TINY, "model.safetensors"), "rb").read()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:cut])
    with pytest.raises(ModelError, match=why):
        read_all(str(path))


def test_a_header_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes((10).to_bytes(8, "little") + b"not json!!" + b"\0" * 64)
    with pytest.raises(ModelError, match="not a safetensors header"):
        read_all(str(path))
