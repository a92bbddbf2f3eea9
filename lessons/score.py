"""How surprised GPT-2 is by a text: the log-probability of each token given the ones before it.

Called by main.py for --score. A model that predicts text well gives its tokens high probability;
perplexity, exp(-mean log-probability), is the number of equally likely tokens the model was
choosing between on average (1 would be certainty; a uniform guess would be vocab_size).

A text longer than the n_ctx tokens GPT-2 can see is scored with a sliding window, the method
Hugging Face documents for perplexity: windows of n_ctx tokens, each starting `stride` tokens after
the one before. Each token is scored once, in the first window that reaches it, and so with at
least n_ctx - stride tokens of context (except near the start). A smaller stride gives more context
to each token and costs more forward passes.
"""
import math

from config import Config, overflowed
from model import residual_stream, unembed
from params import GPT2
from tensor_ops import log_softmax

ROWS = 64  # logits made at a time: a whole window's [n_ctx, vocab_size] would be 200 MB for GPT-2


def token_logprobs(ids, params: GPT2, config: Config, stride=None, network=residual_stream, progress=iter):
    """[None, lp_1, ..., lp_n-1]: lp_t = log P(ids[t] | the tokens before it in its window). network: the model
    without its last step (--steer gives a steered one). progress wraps the loop over the windows (the live
    page's Stop ends a long scoring there)."""
    stride = stride or config.n_ctx // 2
    if not 0 < stride < config.n_ctx:
        raise ValueError(f"the stride is 1 to {config.n_ctx - 1}: windows must overlap, or a window's first token would "
                         "have no context")
    logprobs = [None] * len(ids)
    scored = 1  # tokens before `scored` have their log-probability
    for begin in progress(range(0, len(ids), stride)):  # each window starts `stride` tokens after the one before
        if scored == len(ids):
            break
        end = min(begin + config.n_ctx, len(ids))
        x = network(ids[begin:end], params, config)  # [end - begin, n_embd]
        for first in range(scored, end, ROWS):  # only the rows that predict tokens not yet scored
            last = min(first + ROWS, end)
            log_probs = log_softmax(unembed(x[first - begin - 1:last - begin - 1], params, config))  # [rows, vocab_size]
            for t in range(first, last):
                logprobs[t] = float(log_probs[t - first, ids[t]])  # row t-1 of the window predicts token t
        scored = end
    return logprobs


def scored(ids, params: GPT2, config: Config, stride=None, network=residual_stream, progress=iter):
    """--score's --json object: {"ids", "logprobs", "perplexity"}. A mean log-probability below -709 overflows
    exp(); no trained GPT-2 gives one, so it is said as the model's failure (config.overflowed)."""
    logprobs = token_logprobs(ids, params, config, stride, network, progress)
    try:
        if not all(lp is None or math.isfinite(lp) for lp in logprobs):
            raise OverflowError
        return {"ids": ids, "logprobs": logprobs, "perplexity": perplexity(logprobs)}
    except OverflowError:
        raise overflowed("the log-probabilities") from None


def perplexity(logprobs):
    """exp of the mean negative log-probability; None when no token was predicted."""
    scored = [lp for lp in logprobs if lp is not None]
    return math.exp(-sum(scored) / len(scored)) if scored else None


def print_scores(ids, logprobs, ppl, tok, n_ctx):
    """--score's table: each token of the first n_ctx and its log-probability, then the perplexity."""
    for i, lp in list(zip(ids, logprobs))[:n_ctx]:
        print(f"{i:>6}  {tok.decode([i])!r:<20} {'' if lp is None else f'{lp:9.4f}'}")
    if len(ids) > n_ctx:
        print(f"... and {len(ids) - n_ctx} more tokens, scored with a sliding window")
    print(f"perplexity: {ppl:.4f}" if ppl is not None else "perplexity: needs at least two tokens")
