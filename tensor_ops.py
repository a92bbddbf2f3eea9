"""The operations GPT-2 is built from: layer norm, GELU, softmax and the linear layer, plus the
logarithm of softmax that scoring needs.

Bottom of the call chain: the modules above call these and compute nothing else. Each works on the last axis
of an array of any shape and keeps float32. Constants are plain Python floats on purpose: under
NumPy 2 a NumPy float64 scalar (such as `np.sqrt(2 / np.pi)`) would silently turn every float32 array
it touches into float64, doubling the memory traffic of the whole model.
"""
import math

import numpy as np

from params import LayerNorm, Linear


def layer_norm(x, ln: LayerNorm, eps: float):
    """Give each token's vector zero mean and unit variance, then the learned scale and shift."""
    mean = x.mean(axis=-1, keepdims=True)  # [..., 1]
    var = x.var(axis=-1, keepdims=True)  # [..., 1], the biased variance, as PyTorch's LayerNorm
    return (x - mean) / np.sqrt(var + eps) * ln.weight + ln.bias  # [..., n_embd]


def gelu(x):
    """GELU in the tanh approximation GPT-2 was trained with ("gelu_new"), not the exact erf form.
    x * x * x, not x**3: NumPy computes x**3 with a general power function, about 50 times slower."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))))


def softmax(x):
    """exp(x) / sum(exp(x)) over the last axis. Subtracting the maximum first changes nothing
    mathematically but keeps exp from overflowing to inf when scores are large.
    One new array, then each step in place: on a long prompt attention's scores are the largest
    arrays in the model, and a fresh array per step would cost more time than the arithmetic."""
    e = x - x.max(axis=-1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(x):
    """log(softmax(x)), computed without taking the log of a probability that rounded to zero."""
    shifted = x - x.max(axis=-1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # in place, as in softmax
    return shifted


def linear(x, layer: Linear):
    """A fully connected layer; GPT-2's weights are already [n_in, n_out], so no transpose.
    A stack of sequences is multiplied as one matrix of all its rows: NumPy would multiply a stack one
    matrix at a time, reading the weights anew for each (2.7 times slower for 22 copies of 22 tokens)."""
    rows = x.reshape(-1, x.shape[-1]) @ layer.weight + layer.bias  # [rows, n_in] -> [rows, n_out]
    return rows.reshape(*x.shape[:-1], rows.shape[-1])  # [..., n_out]
