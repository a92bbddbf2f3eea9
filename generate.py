"""Greedy generation, the simplest loop there is: ids [n_prompt] -> one new id at a time.

Called by main.py; calls model.py. Each step runs the whole sequence so far through the model,
takes the single most likely next token, appends it and starts again. Re-running every earlier token
at every step makes n new tokens cost O(n^2) work; that waste is kept on purpose here, because it is
the plain definition of what the model computes.
"""
import numpy as np

from config import Config
from model import forward
from params import GPT2


def generate(ids, params: GPT2, config: Config, max_new_tokens=40):
    """Yield up to max_new_tokens new ids; stop early when the sequence fills GPT-2's n_ctx positions."""
    ids = list(ids)
    for _ in range(min(max_new_tokens, config.n_ctx - len(ids))):
        logits = forward(ids, params, config, last_only=True)  # [1, vocab_size]
        next_id = int(np.argmax(logits[-1]))
        ids.append(next_id)
        yield next_id
