"""Each operation of tensor_ops.py against PyTorch's, and the causal mask's one promise."""
import numpy as np

from attention import causal_mask
from conftest import assert_close
from model import forward
from params import LayerNorm
from tensor_ops import gelu, layer_norm, log_softmax, softmax


def test_layer_norm_matches_pytorch(ref):
    out = layer_norm(ref["ln_x"], LayerNorm(ref["ln_weight"], ref["ln_bias"]), 1e-5)
    assert out.dtype == np.float32
    assert_close(out, ref["ln_out"], 2e-6, "layer_norm")


def test_gelu_is_the_tanh_approximation_pytorch_computes(ref):
    out = gelu(ref["gelu_x"])
    assert out.dtype == np.float32
    assert_close(out, ref["gelu_out"], 1e-6, "gelu")


def test_softmax_of_very_large_inputs_is_finite_and_matches_pytorch(ref):
    out = softmax(ref["softmax_x"])
    assert np.isfinite(out).all(), out
    assert_close(out, ref["softmax_out"], 1e-7, "softmax")
    assert_close(log_softmax(ref["softmax_x"]), ref["log_softmax_out"], 2e-7, "log_softmax")  # measured 1.2e-7


def test_causal_mask_hides_the_future_only():
    mask = causal_mask(4)
    assert mask.dtype == np.float32
    assert (mask[np.tril_indices(4)] == 0).all()
    assert (mask[np.triu_indices(4, k=1)] == -np.inf).all()


def test_changing_token_t_changes_no_logit_before_position_t(tiny):
    params, config = tiny
    ids = [15496, 11, 616, 3290, 318, 13779]
    before = forward(ids, params, config)
    for t in range(len(ids)):
        changed = forward(ids[:t] + [ids[t] + 1] + ids[t + 1:], params, config)
        assert np.array_equal(changed[:t], before[:t]), f"changing token {t} changed an earlier logit"
        assert not np.array_equal(changed[t], before[t]), "the changed token itself must matter"


def test_the_model_stays_float32_end_to_end(tiny):
    params, config = tiny
    assert all(a.dtype == np.float32 for a in (params.wte, params.wpe, params.h[0].attn.c_attn.weight))
    assert forward([464, 3290], params, config).dtype == np.float32
