"""Exercise 7, one step of the KV cache (the guided path's step 4): attention for one new token.

Write kv_step(x, p, config, cache_k, cache_v, position): one block's attention for the token at `position`,
reading the earlier tokens' keys and values from the cache instead of computing them again.
- x [1, n_embd] float32: the new token's vector, already through ln_1; p a params.Attention (p.c_attn,
  p.c_proj); config a config.Config (config.n_head).
- cache_k, cache_v [n_head, n_cached, d_head], n_cached > position: entries 0 to position - 1 hold the keys
  and values of the tokens before this one. What lies past them is not yours to read.
- Compute the token's query, key and value (c_attn, split into heads), write its key and value at `position`,
  attend from its query over the keys and values 0 to position, and return the output after c_proj,
  [1, n_embd] float32.

Hint: read lessons/kv_cache.py. The newest token may look at every token before it, so its row of the causal
mask is all zeros: no mask is needed. You may call the functions imported below.

Check it: python -m exercises check kv_step. Then the induction model generates with your step in its cache,
and each step's probabilities are compared with a forward pass over the whole text.
"""
import math

from attention import merge_heads, qkv_heads
from tensor_ops import linear, softmax


def kv_step(x, p, config, cache_k, cache_v, position):
    raise NotImplementedError("write kv_step(...); its module's docstring says what it computes")
