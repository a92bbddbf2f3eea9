"""The whole network: token ids [n_seq] -> logits [n_seq, vocab_size].

Called by generate.py (and lessons/score.py for --score); calls layer.py once per block. The logits at
position i score every token of the vocabulary as the one that follows ids[:i+1]; softmax turns
them into probabilities.

The two ends of the network have names of their own, because the KV cache and the instruments use
them too: `embed` (ids -> the residual stream) and `unembed` (the residual stream -> logits);
`residual_stream` is the network without its last step, for scoring, which unembeds in slices.
"""

import numpy as np

from attention import causal_mask
from config import Config
from layer import block
from params import GPT2
from tensor_ops import layer_norm


def embed(ids, params: GPT2, start=0):
    """[n_seq] -> [n_seq, n_embd]: what each token is, plus where it is (positions start, start+1, ...)."""
    n_ctx, vocab_size = len(params.wpe), len(params.wte)
    whole = all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids)  # not "hi", 1.5 or [[1]]
    if not whole or not 0 < len(ids) <= n_ctx - start or not all(0 <= i < vocab_size for i in ids):  # -1: wte's last row
        these = f"{len(ids)}" + (f", from {min(ids)} to {max(ids)}," if len(ids) and whole else "") + f" at position {start}"
        raise ValueError(f"GPT-2 reads 1 to {n_ctx} token ids, whole numbers 0 to {vocab_size - 1}; these are {these}")
    return params.wte[ids] + params.wpe[start:start + len(ids)]


def unembed(x, params: GPT2, config: Config):
    """[..., n_embd] -> [..., vocab_size]: the final LayerNorm, then a score for every token."""
    return layer_norm(x, params.ln_f, config.layer_norm_epsilon) @ params.wte.T  # weight tying


def residual_stream(ids, params: GPT2, config: Config):
    """[n_seq] -> [n_seq, n_embd]: the embeddings, after every block has added to them."""
    x = embed(ids, params)  # [n_seq, n_embd]
    mask = causal_mask(len(ids))  # [n_seq, n_seq]
    for p in params.h:
        x = block(x, p, config, mask)  # [n_seq, n_embd] -> [n_seq, n_embd]
    return x


def forward(ids, params: GPT2, config: Config, last_only=False):
    """Logits for every position, or with last_only=True for the last one only ([1, vocab_size]).

    Generation needs only the next token's scores; skipping the output projection for the other
    positions saves an [n_seq, n_embd] x [n_embd, vocab_size] product, the largest in the model.
    """
    x = residual_stream(ids, params, config)  # [n_seq, n_embd]
    if last_only:
        x = x[-1:]  # [1, n_embd]
    return unembed(x, params, config)  # [n_seq, vocab_size]
