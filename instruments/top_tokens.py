"""--show-top K: at each generated step, the K likeliest next tokens and the one chosen.

The model's probabilities are softmax(logits) (temperature 1); with sampling, the token chosen need
not be the likeliest. It works by wrapping the rule that chooses (sampling.py), which sees every
step's logits, so generate.py needs no change.
"""
import numpy as np

from tensor_ops import softmax
from tokenizer import GPT2Tokenizer


def likeliest(logits, k):
    """[(id, probability)] of the k likeliest tokens, likeliest first."""
    probs = softmax(logits)
    best = np.argsort(-probs, kind="stable")[:k]
    return [(int(i), float(probs[i])) for i in best]


def recording(choose, k, tok: GPT2Tokenizer, steps, show=True):
    """choose, also appending to `steps` each step's top k, and with show=True printing them and the choice."""
    def choose_and_show(logits):
        top, chosen = likeliest(logits, k), choose(logits)
        steps.append([[i, tok.decode([i]), p] for i, p in top])
        if show:
            options = "  ".join(f"{tok.decode([i])!r} {p:.1%}" for i, p in top)
            print(f"{len(steps):>4}  {tok.decode([chosen])!r:<14} | {options}", flush=True)
        return chosen
    return choose_and_show
