"""Exercise 13, layer_norm's backward (the guided path's step 9): the gradient through a normalisation.

Write layer_norm_backward(dy, x, ln, eps): y = layer_norm(x, ln, eps) along the last axis, x [..., n_embd]
float32; dy [..., n_embd] float32, the gradient of some number with respect to y. Return dx [..., n_embd]
float32, its gradient with respect to x.

With x_hat = (x - mean) / std, std = sqrt(var + eps), y = x_hat * ln.weight + ln.bias, and g = dy * ln.weight:
dx = (g - mean(g) - x_hat * mean(g * x_hat)) / std, each mean over the last axis. The mean and the variance
depend on every entry, so moving one entry moves them all: the two subtracted terms are the parts of g that
would only shift the vector's mean or stretch it along x_hat, which the normalisation undoes.

Hint: read lessons/backward.py. Compute mean and std as the forward pass does (the biased variance).

Check it: python -m exercises check layer_norm_backward. Then the induction model's whole backward pass runs
with your function, and the gradient reaching the embeddings is compared.
"""
import numpy as np


def layer_norm_backward(dy, x, ln, eps):
    raise NotImplementedError("write layer_norm_backward(...); its module's docstring says what it computes")
