"""Exercise 8's solution: temperature, top-k and top-p."""
import numpy as np

from tensor_ops import softmax


def next_token_probs(logits, temperature, top_k=None, top_p=None):
    probs = softmax(logits / temperature)  # [vocab_size]
    order = np.argsort(-probs, kind="stable")  # likeliest first
    keep = len(probs) if top_k is None else min(top_k, len(probs))
    if top_p is not None:
        mass = np.cumsum(probs[order[:keep]])
        keep = min(keep, int(np.searchsorted(mass, top_p)) + 1)  # the first prefix that reaches top_p
    kept = np.zeros_like(probs)
    kept[order[:keep]] = probs[order[:keep]]
    return kept / kept.sum()
