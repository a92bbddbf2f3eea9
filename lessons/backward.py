"""GPT-2's backward pass, by hand: the chain rule written out for each operation of the forward pass.

A gradient answers one question about one number at the end of the network, the metric (the target's
log-probability, its probability, or logit(target) - logit(versus) at the last position): if this number
inside the network moved by a small amount, by how much would the metric move? The gradient of the metric
with respect to an activation has the activation's shape; its entry times a small change of that entry is
the metric's change, to first order. A whole backward pass gives it for every activation at once, for about
the cost of one more forward pass: this is what training uses, and what the instruments use to estimate
every patching cell at once (instruments/attribution_patching.py) or a token's share (saliency).

Each forward operation has its backward below, under the same name with _backward: given dy, the gradient
of the metric with respect to the operation's output, it returns the gradient with respect to its inputs
(and its weights, where a lesson needs them). A sum in the forward pass is a copy in the backward, a copy
(broadcast) is a sum, and a matrix product y = x @ W sends dy back as dy @ W.T to x and as x.T @ dy to W.

Two backwards need more than a rule of thumb:
- layer_norm is not a scaling: the mean and the variance it divides by depend on every entry of the vector,
  so moving one entry moves them all. Its backward takes out of dy the part that would only shift the
  vector's mean and the part along the normalised vector itself, which the normalisation undoes.
- softmax's backward needs the pattern it produced: an output p_j depends on every score through the
  normalising sum, and dp_j/ds_i = p_j (1[i = j] - p_i). So ds = p * (dp - sum(dp * p)). A saturated
  pattern (one p near 1) has gradients near 0: a first-order estimate sees nothing there, however much a
  real change would move it.

backward() runs them from the metric back to the embeddings over a probe's activations (instruments/probe.py
keeps everything the forward pass computed), and returns the gradient at every point the patching grids name.
float32 throughout; the finite-difference tests run the same functions in float64.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from attention import merge_heads, split_heads
from config import Config
from params import GPT2
from tensor_ops import layer_norm, linear, log_softmax, softmax


def linear_backward(dy, layer):
    """y = x @ W + b: dx = dy @ W.T."""
    return (dy.reshape(-1, dy.shape[-1]) @ layer.weight.T).reshape(*dy.shape[:-1], layer.weight.shape[0])


def linear_weights_backward(dy, x):
    """y = x @ W + b: dW = x.T @ dy over every row, db = the sum of dy's rows. (Training needs these; the
    instruments only the activations' gradients, so backward() never computes them.)"""
    rows_x, rows_dy = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    return rows_x.T @ rows_dy, rows_dy.sum(axis=0)


def normalised(x, eps):
    """layer_norm's x_hat, (x - mean) / std, and std."""
    mean = x.mean(axis=-1, keepdims=True)
    std = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    return (x - mean) / std, std


def layer_norm_backward(dy, x, ln, eps):
    """y = x_hat * w + b, x_hat = (x - mean) / std on the last axis. With g = dy * w:
    dx = (g - mean(g) - x_hat * mean(g * x_hat)) / std."""
    x_hat, std = normalised(x, eps)
    g = dy * ln.weight
    return (g - g.mean(axis=-1, keepdims=True) - x_hat * (g * x_hat).mean(axis=-1, keepdims=True)) / std


def layer_norm_weights_backward(dy, x, eps):
    """dw = the sum over positions of dy * x_hat, db = the sum of dy."""
    x_hat, _ = normalised(x, eps)
    axes = tuple(range(dy.ndim - 1))
    return (dy * x_hat).sum(axis=axes), dy.sum(axis=axes)


def gelu_backward(dy, x):
    """GELU's tanh form, 0.5 x (1 + tanh(u)) with u = c (x + 0.044715 x^3), differentiated: the product rule
    gives 0.5 (1 + tanh u) + 0.5 x (1 - tanh(u)^2) du/dx."""
    c = math.sqrt(2.0 / math.pi)
    t = np.tanh(c * (x + 0.044715 * (x * x * x)))
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * (x * x)))


def softmax_backward(dy, y):
    """y = softmax(s) on the last axis: ds = y * (dy - sum(dy * y)). It needs y, the pattern itself."""
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def attention_weights_backward(d_weights, weights, q, k):
    """weights = softmax(q @ k.T / sqrt(d_head) + mask): dq and dk. A masked score has weight 0, so softmax's
    backward gives it no gradient and the mask needs none of its own."""
    d_scores = softmax_backward(d_weights, weights) / math.sqrt(q.shape[-1])  # [n_head, n_q, n_k]
    return d_scores @ k, d_scores.swapaxes(-1, -2) @ q


def attend_backward(d_out, weights, v):
    """out = weights @ v: the pattern's gradient d_out @ v.T, the values' weights.T @ d_out."""
    return d_out @ v.swapaxes(-1, -2), weights.swapaxes(-1, -2) @ d_out


def embed_backward(dx, ids, params: GPT2):
    """x = wte[ids] + wpe[:n_seq]: each position's gradient added to its token's row and to its position's."""
    d_wte = np.zeros_like(params.wte)
    np.add.at(d_wte, ids, dx)  # a token that appears twice gets both gradients
    d_wpe = np.zeros_like(params.wpe)
    d_wpe[:len(ids)] = dx
    return d_wte, d_wpe


def unembed_backward(d_logits, x, params: GPT2, config: Config):
    """logits = layer_norm(x, ln_f) @ wte.T: dx. (wte's gradient as the output projection would be
    d_logits.T @ layer_norm(x), added to embed_backward's: the weights are tied.)"""
    return layer_norm_backward(d_logits @ params.wte, x, params.ln_f, config.layer_norm_epsilon)


def metric_gradient(logits, target, versus=None, kind="probability"):
    """The metric at the last position's logits [vocab_size], and its gradient [vocab_size]: "logprob" (log P of
    the target: one-hot minus the probabilities), "probability" (P times that), or, with versus, the logit
    difference (one-hot of the target minus one-hot of versus). What it cannot use is a ValueError."""
    vocab_size = np.shape(logits)[-1] if np.ndim(logits) else 0
    ids = [i for i in (target, versus) if i is not None]
    if np.ndim(logits) != 1 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                                       and 0 <= i < vocab_size for i in ids) or kind not in ("probability", "logprob"):
        raise ValueError(f"metric_gradient takes one position's logits [vocab_size] (logits[-1]), a target and versus "
                         f"(or None) from 0 to vocab_size - 1, and kind probability or logprob: not logits of shape "
                         f"{np.shape(logits)}, {target!r:.20}, {versus!r:.20}, {kind!r:.20}")
    d = np.zeros_like(logits)
    if versus is not None:
        d[target], d[versus] = 1.0, -1.0
        return float(logits[target] - logits[versus]), d
    p = softmax(logits)
    d[target] = 1.0
    if kind == "logprob":
        return float(log_softmax(logits)[target]), d - p
    return float(p[target]), p[target] * (d - p)


@dataclass
class Gradients:
    """The metric's gradient at the points the patching grids name, each with its activation's shape."""
    states: list = field(default_factory=list)  # n_layer + 1 [n_seq, n_embd]: the stream entering each block (and after)
    attn: list = field(default_factory=list)  # n_layer [n_seq, n_embd]: what each block's attention adds
    mlp: list = field(default_factory=list)  # n_layer [n_seq, n_embd]: what each block's MLP adds
    heads: list = field(default_factory=list)  # n_layer [n_head, n_seq, d_head]: each head's output, before c_proj
    pattern: list = field(default_factory=list)  # n_layer [n_head, n_seq, n_seq]: each head's attention pattern
    values: list = field(default_factory=list)  # n_layer [n_head, n_seq, d_head]: each head's values
    q: list = field(default_factory=list)  # n_layer [n_head, n_seq, d_head]: each head's queries
    k: list = field(default_factory=list)  # n_layer [n_head, n_seq, d_head]: each head's keys
    mlp_input: list = field(default_factory=list)  # n_layer [n_seq, n_embd]: the stream as the MLP alone reads it
    embedding: object = None  # [n_seq, n_embd]: the embeddings' output (states[0])


def backward(seen, d_logits, params: GPT2, config: Config) -> Gradients:
    """The gradients of a metric of the last position's logits, whose gradient is d_logits [vocab_size], over the
    run a probe saw (seen: instruments/probe.Probe). Block by block from the last, each step the backward of
    one line of layer.block, in reverse order."""
    if not hasattr(seen, "states") or np.shape(d_logits) != (config.vocab_size,):
        raise ValueError(f"backward takes a probe's run (instruments.probe.probe) and d_logits of shape "
                         f"({config.vocab_size},), metric_gradient's: not {type(seen).__name__} and {np.shape(d_logits)}")
    eps = config.layer_norm_epsilon
    grads = Gradients()
    dx = np.zeros_like(seen.states[-1])  # only the last position is read
    dx[-1] = unembed_backward(d_logits, seen.states[-1][-1], params, config)
    grads.states.append(dx)
    for n_block in reversed(range(config.n_layer)):
        p, x = params.h[n_block], seen.states[n_block]
        # x = x + mlp(layer_norm(x, ln_2)): the sum sends dx on unchanged, and back through the MLP
        grads.mlp.append(dx)
        middle = x + seen.attn[n_block]  # the stream between attention and the MLP
        h = linear(layer_norm(middle, p.ln_2, eps), p.mlp.c_fc)  # [n_seq, n_inner], before GELU: computed again
        d_ln2 = linear_backward(gelu_backward(linear_backward(dx, p.mlp.c_proj), h), p.mlp.c_fc)
        grads.mlp_input.append(layer_norm_backward(d_ln2, middle, p.ln_2, eps))
        dx = dx + grads.mlp_input[-1]
        # x = x + attention(layer_norm(x, ln_1)): the same, through c_proj, the heads, the pattern and q, k, v
        grads.attn.append(dx)
        d_heads = split_heads(linear_backward(dx, p.attn.c_proj), config.n_head)
        d_pattern, d_v = attend_backward(d_heads, seen.attention[n_block], seen.v[n_block])
        d_q, d_k = attention_weights_backward(d_pattern, seen.attention[n_block], seen.q[n_block], seen.k[n_block])
        d_qkv = np.concatenate([merge_heads(d_q), merge_heads(d_k), merge_heads(d_v)], axis=-1)  # [n_seq, 3 * n_embd]
        dx = dx + layer_norm_backward(linear_backward(d_qkv, p.attn.c_attn), x, p.ln_1, eps)
        grads.heads.append(d_heads)
        grads.pattern.append(d_pattern)
        grads.values.append(d_v)
        grads.q.append(d_q)
        grads.k.append(d_k)
        grads.states.append(dx)
    for points in (grads.states, grads.attn, grads.mlp, grads.heads, grads.pattern, grads.values, grads.q, grads.k,
                   grads.mlp_input):
        points.reverse()  # gathered from the last block: now in the blocks' order
    grads.embedding = grads.states[0]
    return grads
