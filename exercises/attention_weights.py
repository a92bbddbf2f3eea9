"""Exercise 5, causal attention weights (the guided path's step 3): where each position looks.

Write attention_weights(q, k, mask): q [n_head, n_q, d_head] and k [n_head, n_k, d_head], float32; mask
[n_q, n_k], 0 where a query may look and -inf where it may not (attention.causal_mask). Return
[n_head, n_q, n_k] float32: softmax over the keys of q @ k.T / sqrt(d_head) + mask, each row summing to 1.

Hint: read attention.py. Transpose only the last two axes of k (k.swapaxes(-1, -2)), not the heads' axis.
The division by sqrt(d_head) keeps the scores of wide heads from growing with d_head, where softmax would put
all its weight on one key. The -inf entries become weights of exactly 0. You may call tensor_ops.softmax.

Check it: python -m exercises check attention_weights. Then the induction model runs with your weights.
"""
import math

from tensor_ops import softmax


def attention_weights(q, k, mask):
    raise NotImplementedError("write attention_weights(q, k, mask); its module's docstring says what it computes")
