"""Causal multi-head self-attention: [n_seq, n_embd] -> [n_seq, n_embd].

Called by layer.py. Each position builds a query ("what am I looking for?"), a key ("what do I
hold?") and a value ("what do I pass on?"). A position's output is the average of the values of the
positions whose keys best match its query. The n_head heads do this independently on slices of
d_head = n_embd / n_head numbers, so each can track a different relation (the previous word, the
subject of the sentence, ...).

Every function here also takes a stack of sequences, [..., n_seq, n_embd]: the experiments run several
patched copies of a prompt at once. The leading axes just come along.
"""
import math

import numpy as np

from config import Config
from params import Attention
from tensor_ops import linear, softmax


def causal_mask(n_q, n_k=None):
    """[n_q, n_k]: 0 where a query may look at a key (a position at or before its own), -inf elsewhere.

    GPT-2 is trained to predict each next token from the ones before it, so a position must never
    see the tokens after it. Adding -inf to those scores makes their softmax weight exactly zero.
    The queries are the last n_q of the n_k positions: the whole prompt when n_q = n_k (the default),
    the KV cache's one new token when n_q = 1 (a row of zeros: it may see every cached token).
    It is built once per forward pass and shared by every block.
    """
    n_k = n_q if n_k is None else n_k
    return np.triu(np.full((n_q, n_k), -np.inf, dtype=np.float32), k=n_k - n_q + 1)


def split_heads(x, n_head):
    """[..., n_seq, n_embd] -> [..., n_head, n_seq, d_head]: one reshape, one transpose, no copy."""
    *stack, n_seq, n_embd = x.shape
    return x.reshape(*stack, n_seq, n_head, n_embd // n_head).swapaxes(-3, -2)


def merge_heads(x):
    """[..., n_head, n_seq, d_head] -> [..., n_seq, n_embd]: the heads' outputs side by side again."""
    *stack, n_head, n_seq, d_head = x.shape
    return x.swapaxes(-3, -2).reshape(*stack, n_seq, n_head * d_head)


def qkv_heads(x, p: Attention, config: Config):
    """Each position's query, key and value, split into heads: [n_seq, n_embd] -> 3 x [n_head, n_seq, d_head]."""
    qkv = linear(x, p.c_attn)  # [n_seq, n_embd] -> [n_seq, 3*n_embd]
    return [split_heads(t, config.n_head) for t in np.split(qkv, 3, axis=-1)]


def attention_weights(q, k, mask):
    """How much each query position draws from each key position: [n_head, n_q, n_k], rows summing to 1.

    q [n_head, n_q, d_head], k [n_head, n_k, d_head], mask broadcastable to [n_q, n_k].
    A dot product of two random d_head-vectors grows like sqrt(d_head); dividing by it keeps the
    scores in the range where softmax still spreads its weight instead of picking one position.
    (Dividing q rather than the scores gives the same numbers for less work: n_q * d_head divisions,
    not n_q * n_k. The scores are then changed in place, as softmax does, because on a long prompt
    they are the largest array in the model and a fresh array that size costs more than the sum.)
    """
    scores = (q / math.sqrt(q.shape[-1])) @ k.swapaxes(-1, -2)  # [n_head, n_q, n_k]
    scores += mask
    return softmax(scores)


QUERY_ROWS = 128  # how many query positions attend() takes at a time


def attend(q, k, v, mask):
    """Each query's average of the values, weighted by attention: [n_head, n_q, d_head].

    The queries are the last n_q of the n_k positions, so the same function serves the whole prompt
    (n_q = n_k) and the KV cache's one new token (n_q = 1). In meaning this is one line,
    attention_weights(q, k, mask) @ v. The loop over slices of QUERY_ROWS queries is for speed: the
    mask forbids each query the keys after it, so a slice needs only the keys up to its last query.
    On a long prompt that skips almost half of the work, all of it multiplied by zero weights, and
    keeps the arrays [n_head, QUERY_ROWS, keys] instead of [n_head, n_q, n_k].
    """
    n_q, n_k = q.shape[-2], k.shape[-2]
    out = np.empty_like(q)  # [n_head, n_q, d_head], in q's memory order: merge_heads needs no copy
    for start in range(0, n_q, QUERY_ROWS):
        end = min(start + QUERY_ROWS, n_q)
        seen = n_k - n_q + end  # the keys up to the slice's last query
        weights = attention_weights(q[..., start:end, :], k[..., :seen, :], mask[start:end, :seen])
        out[..., start:end, :] = weights @ v[..., :seen, :]  # [n_head, rows, seen] @ [n_head, seen, d_head]
    return out


def attention(x, p: Attention, config: Config, mask):
    q, k, v = qkv_heads(x, p, config)  # 3 x [n_head, n_seq, d_head]
    out = attend(q, k, v, mask)  # [n_head, n_seq, d_head]
    return linear(merge_heads(out), p.c_proj)  # [n_seq, n_embd] -> [n_seq, n_embd]
