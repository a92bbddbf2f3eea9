"""--lens: the logit lens. What would GPT-2 predict if it stopped after block L?

The residual stream has the same shape at every layer, so any of them can be read the way the last
one is: through the final LayerNorm and the tied output projection (model.unembed). For the last
prompt position this shows the prediction forming with depth: early layers often guess a frequent
word, later ones the word that fits the context. The last row, layer n_layer, is by construction
the model's own prediction.
"""
from typing import NamedTuple

import numpy as np

from config import Config
from instruments.probe import Probe
from model import unembed
from params import GPT2
from tensor_ops import softmax
from tokenizer import GPT2Tokenizer


class LensRow(NamedTuple):  # in --json, [layer, id, text, probability]
    layer: int  # 0: the embeddings' output; i: after block i - 1
    id: int  # the top token at the last position, read from that layer
    text: str
    probability: float


def logit_lens(seen: Probe, params: GPT2, config: Config, tok: GPT2Tokenizer):
    """[LensRow] of the top token at the last position, for every layer."""
    probs = softmax(unembed(np.stack([x[-1] for x in seen.states]), params, config))  # [n_layer + 1, vocab_size]
    best = np.argmax(probs, axis=-1)
    return [LensRow(layer, int(i), tok.decode([int(i)]), float(probs[layer, i])) for layer, i in enumerate(best)]


def lens_grid(seen: Probe, params: GPT2, config: Config, k=5, rows=128, progress=iter):
    """(ids, probabilities), each [n_layer + 1, n_seq, k]: the k likeliest tokens at every layer and position.
    Every layer's stream is read as one stack of rows, `rows` at a time: no [n_seq, vocab_size] array is made
    for a long prompt, and wte, the largest matrix, is read once per `rows` rows rather than once per layer.
    progress wraps that loop (the live page shows it, and stops there)."""
    x = np.concatenate(seen.states)  # [(n_layer + 1) * n_seq, n_embd]
    ids, probs = [], []
    for start in progress(range(0, len(x), rows)):
        logits = unembed(x[start:start + rows], params, config)  # [rows, vocab_size]
        best = np.argpartition(logits, -k, axis=-1)[:, -k:]  # the k likeliest, in no particular order
        top = np.take_along_axis(logits, best, axis=-1)
        top = softmax_part(top, logits)  # their probabilities
        order = np.argsort(-top, axis=-1, kind="stable")
        ids.append(np.take_along_axis(best, order, axis=-1))
        probs.append(np.take_along_axis(top, order, axis=-1))
    shape = (len(seen.states), len(seen.states[0]), k)
    return np.concatenate(ids).reshape(shape), np.concatenate(probs).reshape(shape)


def softmax_part(part, logits):
    """softmax(logits) at the entries part [..., k] was taken from: exp(x - max) / sum(exp(x - max)), the sum
    over all of logits [..., vocab_size], the rest never divided."""
    top = logits.max(axis=-1, keepdims=True)
    return np.exp(part - top) / np.exp(logits - top).sum(axis=-1, keepdims=True)


def layer_name(layer):
    return "embeddings" if layer == 0 else f"after block {layer - 1}"


def print_lens(rows):
    print("logit lens, last prompt position: the top token read from the residual stream at each layer")
    for row in rows:
        print(f"  layer {row.layer:>2} {layer_name(row.layer):<16} {row.text!r:<16} {row.probability:7.2%}  "
              f"{'#' * round(row.probability * 40)}")
    print()
