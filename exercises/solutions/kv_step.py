"""Exercise 7's solution: one step of the KV cache."""
import math

from attention import merge_heads, qkv_heads
from tensor_ops import linear, softmax


def kv_step(x, p, config, cache_k, cache_v, position):
    q, k, v = qkv_heads(x, p, config)  # 3 x [n_head, 1, d_head]
    cache_k[:, position] = k[:, 0]
    cache_v[:, position] = v[:, 0]
    keys, values = cache_k[:, :position + 1], cache_v[:, :position + 1]  # [n_head, position + 1, d_head]
    weights = softmax(q @ keys.swapaxes(-1, -2) / math.sqrt(q.shape[-1]))  # [n_head, 1, position + 1]
    return linear(merge_heads(weights @ values), p.c_proj)  # [1, n_embd]
