"""--steer TEXT: activation addition, or steering. Push GPT-2 toward a text without training it.

Run two short texts through the blocks before block L: one that has what we want more of (" Love"),
one that does not (" Hate"; by default as many " " tokens). Their residual streams entering block L
differ by a vector at each position: v[t] = stream(toward)[t] - stream(against)[t]. Then run the
user's prompt, and add C * v[t] to its stream entering block L at the same positions t < k (front-aligned,
as Turner et al. do in "Steering GPT-2-XL by adding an activation vector", 2023). The blocks from L on
read a stream that says more of "Love" than the prompt alone would.

Why a difference of two runs: one text's stream holds everything about it at once, its tokens but also
that it starts a text and where each token sits. Most of that is shared with any other text of the same
length, and the subtraction removes it, leaving what the two texts disagree on. The coefficient C says
how hard to push: 0 is the plain model, bit for bit; the stream's own size at block L sets the scale,
and pushed too far the text loses its grammar before it gains the topic.

The steered model is the same weights with one addition in one place. Every path that runs the network
makes it: probe.py (so every tool and experiment sees the steered model), patch.py's and path_patch.py's
runs (they add it when they pass block L), and the three below, which main.py uses to generate (naive, and
with the KV cache) and to score.
"""
from typing import NamedTuple

import numpy as np

from attention import causal_mask
from config import Config
from instruments import refuse
from layer import block, mlp_half
from lessons.kv_cache import cached_attention, empty_cache, next_logits
from lessons.kv_cache import cached_step as plain_cached_step
from model import embed, unembed
from params import GPT2
from tensor_ops import layer_norm


class Steer(NamedTuple):
    at: int  # the block whose input receives the vectors
    add: np.ndarray  # [k, n_embd]: C * v[t] for the positions t < k


def steering(toward, against, at, coef, params: GPT2, config: Config) -> Steer:
    """The vectors for two texts' ids of the same length k (pad the shorter first: padded())."""
    if not (len(toward) == len(against) > 0 and refuse.whole(at) and 0 <= at < config.n_layer
            and isinstance(coef, (int, float, np.number)) and abs(coef) <= 1000):  # beyond, float32 overflows
        raise ValueError(f"steering takes two texts' ids of one length (pad them: padded()), a block 0 to "
                         f"{config.n_layer - 1} and a coefficient from -1000 to 1000: not {len(toward)} and {len(against)} ids, "
                         f"block {at}, {coef}")
    v = stream_entering(toward, at, params, config) - stream_entering(against, at, params, config)  # [k, n_embd]
    return Steer(at, np.float32(coef) * v)


def padded(toward, against, pad_id):
    """The two texts' ids made the same length with pad_id (" ") at the shorter one's end; no against: all pad_id."""
    if against is None:
        return toward, [pad_id] * len(toward)
    k = max(len(toward), len(against))
    return toward + [pad_id] * (k - len(toward)), against + [pad_id] * (k - len(against))


def stream_entering(ids, n_block, params: GPT2, config: Config):
    """[n_seq] -> [n_seq, n_embd]: the residual stream entering block n_block (the plain model's)."""
    x = embed(ids, params)
    mask = causal_mask(len(ids))
    for p in params.h[:n_block]:
        x = block(x, p, config, mask)
    return x


def onto(x, steer, n_block, start=0):
    """x [..., n_rows, n_embd], the stream entering block n_block at positions start, start + 1, ...: with the
    steering added where it belongs (none, unless n_block is steer.at and some of the positions are below k)."""
    if steer is None or n_block != steer.at or start >= len(steer.add):
        return x
    rows = steer.add[start:start + x.shape[-2]]  # [n_steered, n_embd]
    x = x.copy()
    x[..., :len(rows), :] += rows
    return x


def steered_stream(ids, params: GPT2, config: Config, steer: Steer):
    """model.residual_stream of the steered model: [n_seq] -> [n_seq, n_embd]."""
    x = embed(ids, params)
    mask = causal_mask(len(ids))
    for n_block, p in enumerate(params.h):
        x = block(onto(x, steer, n_block), p, config, mask)
    return x


def naive_step(params: GPT2, config: Config, steer: Steer):
    """generate()'s next_logits for the steered model: the whole window, every step, as generate.py's own."""
    return lambda window: unembed(steered_stream(window, params, config, steer)[-1:], params, config)[-1]


def cached_step(params: GPT2, config: Config, n_tokens, steer: Steer):
    """kv_cache.cached_step for the steered model. Only the first k positions are steered, and the prompt has k
    tokens or more, so only the prefill differs: after it, a new token is never steered and the lesson's own
    step computes it."""
    cache = empty_cache(config, n_tokens)

    def step(window):
        if not cache.ids or cache.ids != window[:-1]:  # the first call (a one-token prompt too), or a window that slid
            return prefill(window, params, config, steer, cache)
        return next_logits(window, params, config, cache)
    return step


def next_step(kv_cache, params: GPT2, config: Config, n_tokens, steer: Steer = None):
    """generate()'s next_logits for a run: None for generate's own naive step, or the KV cache's (kv_cache), of the
    steered model when steer is given."""
    if steer is not None:
        return cached_step(params, config, n_tokens, steer) if kv_cache else naive_step(params, config, steer)
    return plain_cached_step(params, config, n_tokens) if kv_cache else None


def prefill(window, params: GPT2, config: Config, steer: Steer, cache):
    """kv_cache.next_logits's prefill, with the steering added: the whole window runs, filling the cache."""
    eps = config.layer_norm_epsilon
    cache.ids = []
    x = embed(window, params)  # [n_seq, n_embd]
    mask = causal_mask(len(window))
    for n_block, p in enumerate(params.h):
        x = onto(x, steer, n_block)
        x = x + cached_attention(layer_norm(x, p.ln_1, eps), p.attn, config, cache, n_block, mask)
        x = x + mlp_half(x, p, config)
    cache.ids = list(window)
    return unembed(x[-1], params, config)  # [vocab_size]
