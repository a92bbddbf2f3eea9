"""--show-top K: at each generated step, the K likeliest next tokens and the one chosen.

The model's probabilities are softmax(logits) (temperature 1); with sampling, the token chosen need
not be the likeliest. It works by wrapping the rule that chooses (sampling.py), which sees every
step's logits, so generate.py needs no change.
"""
from typing import NamedTuple

import numpy as np

from tensor_ops import softmax
from tokenizer import GPT2Tokenizer


def likeliest(logits, k):
    """[(id, probability)] of the k likeliest tokens, likeliest first."""
    probs = softmax(logits)
    best = np.argsort(-probs, kind="stable")[:k]
    return [(int(i), float(probs[i])) for i in best]


class TopToken(NamedTuple):  # in --json's "show_top", [id, text, probability]
    id: int
    text: str
    probability: float  # the model's own, softmax(logits)


def recording(choose, k, tok: GPT2Tokenizer, steps, on_step=None):
    """choose, also appending to `steps` each step's top k as [TopToken], and handing on_step(step number,
    the id chosen, [(id, probability)]) each step as it comes."""
    def choose_and_record(logits):
        top, chosen = likeliest(logits, k), choose(logits)
        steps.append([TopToken(i, tok.decode([i]), p) for i, p in top])
        if on_step:
            on_step(len(steps), chosen, top)
        return chosen
    return choose_and_record


def print_step(n, chosen, top, tok: GPT2Tokenizer):
    """--show-top's line for one step: the token chosen, then the k likeliest."""
    if n == 1:
        print(f"step  chosen         | the {len(top)} likeliest next tokens (the model's probabilities)")
    options = "  ".join(f"{tok.decode([i])!r} {p:.1%}" for i, p in top)
    print(f"{n:>4}  {tok.decode([chosen])!r:<14} | {options}", flush=True)
