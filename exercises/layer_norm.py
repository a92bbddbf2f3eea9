"""Exercise 2, layer_norm (the guided path's step 1): the normalisation before each half of a block.

Write layer_norm(x, ln, eps): x [..., n_embd] float32; ln has ln.weight and ln.bias, each [n_embd]; eps a
Python float (config.layer_norm_epsilon, 1e-5). Return [..., n_embd] float32: each vector along the last axis
made to mean 0 and variance 1, (x - mean) / sqrt(var + eps), then scaled by ln.weight and shifted by ln.bias.

Hint: the variance is the biased one (divided by n_embd, not n_embd - 1), as PyTorch's LayerNorm computes it;
eps keeps a vector whose entries are all equal from dividing by zero. keepdims=True keeps the mean [..., 1] so
that it broadcasts. Read layer.py for where the two LayerNorms of a block sit, and why before the branch.

Check it: python -m exercises check layer_norm. Then the induction model runs with your layer_norm everywhere.
"""
import numpy as np


def layer_norm(x, ln, eps):
    raise NotImplementedError("write layer_norm(x, ln, eps); its module's docstring says what it computes")
