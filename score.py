"""How surprised GPT-2 is by a text: the log-probability of each token given the ones before it.

Called by main.py for --score. A model that predicts text well gives its tokens high probability;
perplexity, exp(-mean log-probability), is the number of equally likely tokens the model was
choosing between on average (1 would be certainty; a uniform guess would be vocab_size).
"""
import math

from config import Config
from model import forward
from params import GPT2
from tensor_ops import log_softmax


def token_logprobs(ids, params: GPT2, config: Config):
    """[None, lp_1, ..., lp_n-1]: lp_t = log P(ids[t] | ids[:t]). The first token has no context."""
    logprobs = log_softmax(forward(ids, params, config))  # [n_seq, vocab_size]; row t predicts token t+1
    return [None] + [float(logprobs[t - 1, ids[t]]) for t in range(1, len(ids))]


def perplexity(logprobs):
    """exp of the mean negative log-probability; None when no token was predicted."""
    scored = [lp for lp in logprobs if lp is not None]
    return math.exp(-sum(scored) / len(scored)) if scored else None
