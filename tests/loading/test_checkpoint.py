"""checkpoint.py hands over what the safetensors package reads, in float32; bfloat16, which the package
cannot give NumPy, is read from its bytes."""
import json
import os

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from plumbing.checkpoint import check_dtype, read_header, read_tensor
from config import ModelError
from conftest import TINY


def read_all(path):
    with open(path, "rb") as f:
        tensors, entries = read_header(f, path)
        with tensors:
            for name, e in entries.items():
                check_dtype(name, e, path)
            return {name: read_tensor(tensors, f, name, e) for name, e in entries.items()}


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


@pytest.mark.parametrize("cut, why", [(4, r"is truncated or corrupt \(the safetensors package says: .*header"),
                                      (100, r"is truncated or corrupt \(the safetensors package says: .*header"),
                                      (-8, "is truncated or corrupt")])
def test_a_cut_file_is_refused(tmp_path, cut, why):
    data = open(os.path.join(TINY, "model.safetensors"), "rb").read()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:cut])
    with pytest.raises(ModelError, match=why):
        read_all(str(path))


def test_a_header_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes((10).to_bytes(8, "little") + b"not json!!" + b"\0" * 64)
    with pytest.raises(ModelError, match="is truncated or corrupt .the safetensors package says"):
        read_all(str(path))


def header_file(path, header, data=b"\0" * 64):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)
    return str(path)


F32 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
MALFORMED = {
    "overlapping offsets": {"a": F32, "b": {**F32, "data_offsets": [8, 24]}},
    "misaligned offsets": {"a": {**F32, "shape": [3], "data_offsets": [1, 13]}},
    "a gap between tensors": {"a": F32, "b": {**F32, "data_offsets": [20, 36]}},
    "an offset past the end": {"a": {**F32, "shape": [32], "data_offsets": [0, 128]}},
    "a negative offset": {"a": {**F32, "data_offsets": [-16, 0]}},
    "a float shape": {"a": {**F32, "shape": [4.0]}},
    "a string offset": {"a": {**F32, "data_offsets": ["0", "16"]}},
    "a list dtype": {"a": {**F32, "dtype": ["F32"]}},
    "a shape that disagrees with the offsets": {"a": {**F32, "shape": [5]}},
    "duplicate names": b'{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, '
                       b'"a": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}}',
    "a deeply nested header": b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "a 5000-digit offset": b'{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1' + b"0" * 5000 + b']}}',
}


@pytest.mark.parametrize("why", MALFORMED)
def test_malformed_headers_are_refused_as_corrupt(tmp_path, why):
    path = header_file(tmp_path / "bad.safetensors", MALFORMED[why], data=b"\0" * (32 if "gap" not in why else 64))
    with pytest.raises(ModelError, match="is truncated or corrupt"):
        read_all(path)
