"""Choosing the next token from the logits: greedy, or sampling with temperature, top-k and top-p.

Called by main.py, which passes the chosen rule to generate.py (whose default is greedy). Greedy always takes the most likely
token, so a prompt always gives the same text, and it tends to repeat itself. Sampling draws the
token at random with the model's probabilities, reshaped by three knobs:
- temperature T divides the logits: T < 1 sharpens the distribution towards the likeliest tokens,
  T > 1 flattens it towards uniform; T -> 0 is greedy.
- top-k keeps only the k likeliest tokens.
- top-p ("nucleus") keeps the smallest set of likeliest tokens whose probabilities add up to at
  least p, so the number kept adapts to how sure the model is.
"""
import math

import numpy as np

from config import computed
from generate import greedy
from tensor_ops import softmax


def sampler(temperature=0.0, top_k=None, top_p=None, seed=None):
    """A function logits [vocab_size] -> token id; the same seed gives the same choices. A temperature that
    rounds to 0 in float32 (below about 1e-45) is its limit: greedy (dividing by it would make NaN)."""
    if np.float32(temperature) == 0:
        return greedy
    rng = np.random.default_rng(seed)

    def sample(logits):
        probs = filtered_probs(logits, temperature, top_k, top_p)  # [vocab_size], zeros outside the kept set
        cumulative = np.cumsum(probs)  # drawing by inverse CDF needs no renormalised float64 copy
        return int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))

    return sample


def filtered_probs(logits, temperature, top_k=None, top_p=None):
    """Probabilities after temperature, top-k and top-p, unnormalised: the discarded ones are 0."""
    with np.errstate(over="ignore"):  # a tiny temperature sends every score but the top one to -inf: probability 0
        probs = softmax((logits - logits.max()) / temperature)  # [vocab_size]; shifted first: the top score is 0
    order = np.argsort(-probs, kind="stable")  # likeliest first
    keep = len(probs) if top_k is None else min(top_k, len(probs))
    if top_p is not None:
        mass = np.cumsum(probs[order])
        keep = min(keep, int(np.searchsorted(mass, top_p)) + 1)  # the first prefix whose mass reaches p
    kept = np.zeros_like(probs)
    kept[order[:keep]] = probs[order[:keep]]
    return kept


def within(choose, tok):
    """choose, on logits checked to be numbers, and never choosing an id the tokenizer has no text for (a
    vocabulary padded beyond the tokenizer, as nanoGPT's 50304, scores ids that stand for nothing)."""
    def checked(logits):
        computed(logits, "the next token's logits")
        if tok.size < len(logits):
            logits = logits.copy()
            logits[tok.size:] = -math.inf
        return choose(logits)
    return checked
