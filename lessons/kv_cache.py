"""The second lesson: the same generation with a key/value cache, O(n) instead of O(n^2).

main.py hands `cached_step(...)` to generate.py as its next_logits (--kv-cache); it computes exactly what
model.py computes, in another order.

Why it works. In a causal model nothing a token computes depends on the tokens after it. So when
one token is appended, the keys and values that every block computed for the earlier tokens are
unchanged. The naive loop computes them again at every step; this one keeps them, per block, in a
cache, and runs only the new token through the network: its query looks at the cached keys plus
its own, and its key and value are appended for the next step. A step then costs the same however
long the text is (apart from the attention over the cache), instead of re-reading every token.

Positions. The new token's position embedding is its index in the sequence, which is the number of
tokens already cached. GPT-2's positions are absolute: if a sliding window drops the oldest token,
every remaining token's position changes, every cached key and value is stale, and the cache must be
rebuilt from the window (see next_logits).
"""
from dataclasses import dataclass, field

import numpy as np

from attention import attend, causal_mask, merge_heads, qkv_heads
from config import Config
from layer import mlp_half
from model import embed, unembed
from params import GPT2, Attention
from tensor_ops import layer_norm, linear


@dataclass
class KVCache:
    k: np.ndarray  # [n_layer, n_head, n_tokens, d_head]: the keys of every cached token, per block
    v: np.ndarray  # [n_layer, n_head, n_tokens, d_head]: their values
    ids: list = field(default_factory=list)  # the tokens cached, at positions 0 .. len(ids)-1


def empty_cache(config: Config, n_tokens) -> KVCache:
    """Room for n_tokens tokens (at most n_ctx), allocated once: a new token is written in, no array grows.
    Sized to the generation rather than to n_ctx: a few written positions would otherwise make most of
    an n_ctx-sized array resident, as NumPy backs large arrays with 2 MB pages."""
    shape = (config.n_layer, config.n_head, min(n_tokens, config.n_ctx), config.n_embd // config.n_head)
    return KVCache(np.zeros(shape, np.float32), np.zeros(shape, np.float32))


def cached_step(params: GPT2, config: Config, n_tokens):
    """generate()'s next_logits with a cache for a generation of up to n_tokens tokens, prompt included."""
    cache = empty_cache(config, n_tokens)
    return lambda window: next_logits(window, params, config, cache)


def next_logits(window, params: GPT2, config: Config, cache: KVCache):
    """The logits [vocab_size] for the token after `window`, the same numbers as forward(window)[-1].

    When the cache holds all of the window but its last token (the usual step) only that token is run.
    Otherwise (the first call, or a window that slid) the cache is emptied and the window is run
    whole, filling it: the prefill.
    """
    if cache.ids != window[:-1]:
        cache.ids = []
    new = window[len(cache.ids):]  # [n_new]: the whole window, or one token
    start = len(cache.ids)  # the position of new[0]
    x = embed(new, params, start)  # [n_new, n_embd]
    mask = causal_mask(len(new), len(window))  # the new tokens are the last of the window's positions
    eps = config.layer_norm_epsilon
    for n_block, p in enumerate(params.h):
        x = x + cached_attention(layer_norm(x, p.ln_1, eps), p.attn, config, cache, n_block, mask)
        x = x + mlp_half(x, p, config)
    cache.ids = list(window)  # only now: during the loop, len(cache.ids) is where the new tokens start
    return unembed(x[-1], params, config)  # [vocab_size]: only the last position is needed


def cached_attention(x, p: Attention, config: Config, cache: KVCache, n_block, mask):
    """attention.attention for the new tokens only, reading the earlier keys and values from the cache."""
    start = len(cache.ids)  # the position of x[0]: the tokens before it are cached
    assert start == 0 or len(x) == 1, "after the prefill, tokens are added one at a time"
    q, k, v = qkv_heads(x, p, config)  # 3 x [n_head, n_new, d_head]
    end = start + len(x)
    cache.k[n_block, :, start:end] = k  # remember this step's keys and values for the steps after it
    cache.v[n_block, :, start:end] = v
    out = attend(q, cache.k[n_block, :, :end], cache.v[n_block, :, :end], mask)  # [n_head, n_new, d_head]
    return linear(merge_heads(out), p.c_proj)  # [n_new, n_embd]
