"""Exercise 8, temperature, top-k and top-p (the guided path's step 5): the distribution a token is drawn from.

Write next_token_probs(logits, temperature, top_k=None, top_p=None): logits [vocab_size] float32, a
temperature > 0, top_k an int >= 1 or None, top_p in (0, 1] or None. Return [vocab_size] float32: the
probabilities a sampler draws the next token from, summing to 1, zero outside the tokens kept.
1. softmax(logits / temperature).
2. top-k: keep the top_k likeliest tokens.
3. top-p: of those, keep the fewest likeliest whose probabilities add up to at least top_p.
4. Zero the rest, and divide by what is kept, so that it sums to 1 again.

Hint: read lessons/sampling.py (its filtered_probs leaves the last division to the draw). np.argsort(-probs)
orders the tokens likeliest first; np.cumsum of the sorted probabilities finds where top-p stops. You may call
tensor_ops.softmax.

Check it: python -m exercises check sampling. Then the induction model's next-token distribution is compared.
"""
import numpy as np

from tensor_ops import softmax


def next_token_probs(logits, temperature, top_k=None, top_p=None):
    raise NotImplementedError("write next_token_probs(...); its module's docstring says what it computes")
