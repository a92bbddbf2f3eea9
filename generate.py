"""Generation, the simplest loop there is: ids [n_prompt] -> one new id at a time.

Called by main.py; calls model.py. Each step runs the whole sequence so far through the model,
chooses the next token from the last position's logits (greedily by default: the most likely one),
appends it and starts again. Re-running every earlier token at every step makes n new tokens cost
O(n^2) work; that waste is kept on purpose in the default path, because it is the plain definition
of what the model computes. lessons/kv_cache.py computes the same numbers in O(n): read it next.
"""
import numpy as np

from config import Config
from model import forward
from params import GPT2


def greedy(logits):
    """The most likely token: logits [vocab_size] -> id. lessons/sampling.py has the other rules."""
    return int(np.argmax(logits))


def generate(ids, params: GPT2, config: Config, max_new_tokens=40, choose=greedy, stop_id=None,
             sliding_window=False, next_logits=None):
    """Yield up to max_new_tokens new ids.

    choose: logits [vocab_size] -> id. stop_id: stop after yielding this id (main.py passes
    <|endoftext|>). GPT-2 sees at most n_ctx tokens: generation stops when the sequence fills them,
    or with sliding_window=True goes on reading only the last n_ctx tokens. next_logits: window ->
    the logits [vocab_size] of the token after it; by default the naive step below, or the KV cache's.
    """
    if next_logits is None:
        def next_logits(window):
            return forward(window, params, config, last_only=True)[-1]  # the whole window, every step
    ids = list(ids)
    room = max_new_tokens if sliding_window else min(max_new_tokens, config.n_ctx - len(ids))
    for _ in range(room):
        window = ids[-config.n_ctx:]  # all of ids, unless a sliding window has passed n_ctx
        next_id = choose(next_logits(window))
        ids.append(next_id)
        yield next_id
        if next_id == stop_id:
            return
