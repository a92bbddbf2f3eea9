"""Both checkpoint layouts load to the same numbers; every mismatch is a clear ModelError."""
import json
import os

import numpy as np
import pytest

from checkpoints import random_checkpoint, save_pretrained_layout, sharded, tiny_config, tiny_tensors, write
from config import ModelError
from conftest import LOGITS_ATOL, TINY, assert_close
from load import load_model
from model import forward


def test_the_mask_buffers_are_never_read_but_c_attn_bias_is(tmp_path, ref):
    """h.{i}.attn.bias is a mask buffer that attention.py rebuilds; h.{i}.attn.c_attn.bias is a parameter."""
    tensors = tiny_tensors()
    for name in tensors:
        if name.split(".")[-2:] == ["attn", "bias"]:  # h.{i}.attn.bias, not h.{i}.attn.c_attn.bias
            tensors[name] = np.zeros_like(tensors[name])  # a mask that, if used, would hide everything
    params, config = load_model(write(tmp_path, tensors, tiny_config()))
    assert np.array_equal(params.h[0].attn.c_attn.bias, tiny_tensors()["h.0.attn.c_attn.bias"])
    assert_close(forward(ref["ids0"].tolist(), params, config), ref["logits0"], LOGITS_ATOL, "logits")


def test_save_pretrained_layout_gives_the_reference_logits(tmp_path, ref):
    params, config = load_model(write(tmp_path, save_pretrained_layout(tiny_tensors()), tiny_config()))
    assert_close(forward(ref["ids0"].tolist(), params, config), ref["logits0"], LOGITS_ATOL, "logits")


def test_a_float16_checkpoint_is_upcast_to_float32_exactly(tmp_path, ref):
    tensors = {k: v.astype(np.float16) for k, v in tiny_tensors().items()}
    params, config = load_model(write(tmp_path, tensors, tiny_config()))
    assert params.wte.dtype == np.float32 and np.array_equal(params.wte, tensors["wte.weight"].astype(np.float32))
    block = params.h[2]
    for ours, name in ((block.attn.c_attn.weight, "h.2.attn.c_attn.weight"), (block.mlp.c_proj.bias, "h.2.mlp.c_proj.bias"),
                       (block.ln_2.weight, "h.2.ln_2.weight"), (params.ln_f.bias, "ln_f.bias")):
        assert ours.dtype == np.float32 and np.array_equal(ours, tensors[name].astype(np.float32)), name
    assert forward(ref["ids0"].tolist(), params, config).dtype == np.float32


@pytest.mark.parametrize("layout", ["hub", "save_pretrained"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("n_layer, n_head, n_embd, n_positions", [(1, 1, 8, 16), (2, 5, 20, 32), (4, 3, 12, 8)])
def test_other_shapes_load_and_run_from_their_config(tmp_path, n_layer, n_head, n_embd, n_positions, dtype, layout):
    """Head counts that do not divide 12, other widths and context lengths: all read from config.json."""
    tensors, config_json = random_checkpoint(n_layer, n_head, n_embd, n_positions, dtype=dtype)
    if layout == "save_pretrained":
        tensors = save_pretrained_layout(tensors)
    params, config = load_model(write(tmp_path, tensors, config_json))
    assert (config.n_layer, config.n_head, config.n_embd, config.n_ctx) == (n_layer, n_head, n_embd, n_positions)
    assert params.h[-1].mlp.c_fc.weight.dtype == np.float32
    logits = forward(list(range(n_positions)), params, config)
    assert logits.shape == (n_positions, 50257) and logits.dtype == np.float32 and np.isfinite(logits).all()


def broken(tmp_path, edit_tensors=None, edit_config=None):
    tensors, config = tiny_tensors(), tiny_config()
    if edit_tensors:
        edit_tensors(tensors)
    if edit_config:
        edit_config(config)
    return write(tmp_path, tensors, config)


@pytest.mark.parametrize("edit_tensors, message", [
    (lambda t: t.pop("h.1.mlp.c_fc.bias"), "missing: h.1.mlp.c_fc.bias"),
    (lambda t: t.pop("h.0.attn.c_attn.bias"), "missing: h.0.attn.c_attn.bias"),
    (lambda t: t.update({"h.0.attn.extra": np.zeros(3, np.float32)}), "unexpected: h.0.attn.extra"),
    (lambda t: t.update({"h.0.ln_1.weight": np.ones(17, np.float32)}), "h.0.ln_1.weight has shape [17]"),
    (lambda t: t.update({"lm_head.weight": t["wte.weight"] + 1}), "output projection different from wte"),
])
def test_tensors_that_disagree_with_the_config_are_refused(tmp_path, edit_tensors, message):
    with pytest.raises(ModelError, match=message.replace("[", r"\[")):
        load_model(broken(tmp_path, edit_tensors=edit_tensors))


@pytest.mark.parametrize("edit_config, message", [
    (lambda c: c.update(n_head=5), r"n_embd \(16\) is not divisible by n_head \(5\)"),
    (lambda c: c.update(activation_function="relu"), "only GPT-2's tanh GELU"),
    (lambda c: c.update(n_layer=2), "unexpected: h.2"),
    (lambda c: c.update(n_embd=32), "shape"),
    (lambda c: c.pop("n_embd"), "missing or malformed 'n_embd'"),
    (lambda c: c.update(n_layer="three"), "n_layer must be a positive whole number"),
    (lambda c: c.update(tie_word_embeddings=False), "tie_word_embeddings is off"),
])
def test_configs_this_program_cannot_run_are_refused(tmp_path, edit_config, message):
    with pytest.raises(ModelError, match=message):
        load_model(broken(tmp_path, edit_config=edit_config))


def test_a_truncated_safetensors_file_is_refused(tmp_path):
    folder = broken(tmp_path)
    path = os.path.join(folder, "model.safetensors")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(ModelError, match="truncated or corrupt"):
        load_model(folder)


def test_a_folder_with_only_pickle_weights_is_refused_without_opening_them(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(tiny_config()))
    (tmp_path / "pytorch_model.bin").write_bytes(b"not to be unpickled")
    with pytest.raises(ModelError, match="never loaded here"):
        load_model(str(tmp_path))


def test_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelError, match="config.json"):
        load_model(str(tmp_path))


def test_the_tiny_fixture_is_in_the_hub_layout():
    from safetensors import safe_open
    with safe_open(os.path.join(TINY, "model.safetensors"), "numpy") as f:
        assert "h.0.attn.bias" in f.keys() and not any(k.startswith("transformer.") for k in f.keys())


@pytest.mark.parametrize("mask_dtype", [np.uint8, np.bool_])
def test_mask_buffers_saved_as_uint8_or_bool_load(tmp_path, ref, mask_dtype):
    """transformers 4.x saved the causal-mask buffers so; they are never read, whatever their dtype."""
    tensors = {k: (v.astype(mask_dtype) if k.split(".")[-2:] == ["attn", "bias"] else v) for k, v in tiny_tensors().items()}
    params, config = load_model(write(tmp_path, tensors, tiny_config()))
    assert_close(forward(ref["ids0"].tolist(), params, config), ref["logits0"], LOGITS_ATOL, "logits")


def test_a_sharded_checkpoint_loads_to_the_same_logits(tmp_path, ref):
    folder = write(tmp_path, {}, tiny_config())
    os.remove(os.path.join(folder, "model.safetensors"))
    sharded(folder, save_pretrained_layout(tiny_tensors()))
    params, config = load_model(folder)
    assert_close(forward(ref["ids0"].tolist(), params, config), ref["logits0"], LOGITS_ATOL, "logits")
    os.remove(os.path.join(folder, "model-00002-of-00003.safetensors"))
    with pytest.raises(ModelError, match="model.safetensors.index.json lists model-00002-of-00003.safetensors, which is not in"):
        load_model(folder)
