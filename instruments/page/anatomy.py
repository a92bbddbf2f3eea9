"""GPT-2 drawn on the page: its stages in the order the code runs them, each with a sentence, the lines of NumPy
that compute it (the functions that ran, their file and line numbers), the shape of what it makes, and, per
run, the numbers it made: the whole vector at the last position, and the length of the vector at every position.

The lines are taken once, when this module is imported (the server's start, or --report's run), from the very
functions the run calls: the page ships them, and no request reads a file.
"""
import inspect
import os

import numpy as np

import attention
import layer
import mlp
import model
import tensor_ops
import tokenizer
from lessons import bpe
from tensor_ops import layer_norm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def code(function):
    """{"file", "first", "lines"} of a function as its module's file holds it."""
    lines, first = inspect.getsourcelines(function)
    return {"file": os.path.relpath(inspect.getsourcefile(function), ROOT), "first": first,
            "lines": [line.rstrip("\n") for line in lines]}


# (key, title, what it computes, the functions that compute it, its output's shape)
STAGES = [
    ("tokens", "Tokens", "The prompt's text cut into GPT-2's tokens: its UTF-8 bytes merged pair by pair, in the "
     "order of merges.txt (byte-pair encoding, which the tokenizers package does); each token is a row number of "
     "wte.", [tokenizer.GPT2Tokenizer.encode], "[n_seq]"),
    ("embedding", "Embedding", "Each token's row of wte (what the token is) plus the row of wpe for its position "
     "(where it is): the residual stream as it enters block 0.", [model.embed], "[n_seq, n_embd]"),
    ("block", "A block", "LayerNorm, then attention adds to the stream; LayerNorm, then the MLP adds to it. The "
     "stream itself is only ever added to.", [layer.block], "[n_seq, n_embd]"),
    ("layer_norm", "LayerNorm", "Each position's vector given zero mean and unit variance, then a learned scale and "
     "shift; before attention, before the MLP, and once at the end.", [tensor_ops.layer_norm], "[n_seq, n_embd]"),
    ("attention", "Attention", "Each position's query meets every earlier position's key; the softmax of the scores "
     "weights their values; the heads' outputs, side by side, go through c_proj.",
     [attention.attention, attention.qkv_heads, attention.attention_weights, attention.attend], "[n_seq, n_embd]"),
    ("mlp", "MLP", "Each position alone: widened to 4 n_embd, GELU, projected back.", [mlp.mlp, tensor_ops.gelu],
     "[n_seq, n_embd]"),
    ("unembed", "Final LayerNorm and unembedding", "The stream after the last block, normalised, against every "
     "token's row of wte (the same matrix as the embedding's): one score, a logit, per token.", [model.unembed],
     "[n_seq, vocab_size]"),
    ("softmax", "Next-token probabilities", "The last position's logits made into probabilities; generation takes "
     "the likeliest, or samples.", [tensor_ops.softmax], "[vocab_size]"),
]
# where the code that ran calls a package, the same done by hand in a lesson (tests/core/test_bpe.py holds them equal)
BY_HAND = {"tokens": [bpe.encode, bpe.encode_piece, bpe.merge_steps]}
CODE = [{"key": key, "title": title, "what": what, "code": [code(f) for f in functions], "shape": shape,
         "by_hand": [code(f) for f in BY_HAND.get(key, [])]} for key, title, what, functions, shape in STAGES]


def values(seen, params, config):
    """The numbers each stage made in this run. For the stream entering every block and after the last (states),
    and what each block's attention and MLP added to it: the vector at the last position ("last", n_embd numbers)
    and its length at every position ("lengths", the L2 norm). For the LayerNorms on each block's two branches
    (ln_1, ln_2) and the final one (ln_f): their output at the last position. For each head of each block, its
    arithmetic at the last position ("heads"): q . k against every key ("qk", before the division by sqrt(d_head)),
    the attention weights ("weights") and the weighted sum of the values ("out", d_head numbers)."""
    def shown(x):  # [n_seq, n_embd]
        return {"last": [round(float(v), 3) for v in x[-1]],
                "lengths": [round(float(v), 2) for v in np.linalg.norm(x, axis=-1)]}

    def normed(x, ln):  # the last position of x through a LayerNorm
        return [round(float(v), 3) for v in layer_norm(x[-1:], ln, config.layer_norm_epsilon)[0]]

    return {"states": [shown(x) for x in seen.states], "attn": [shown(a) for a in seen.attn],
            "mlp": [shown(m) for m in seen.mlp],
            "ln_1": [normed(x, p.ln_1) for x, p in zip(seen.states, params.h)],
            "ln_2": [normed(x[-1:] + a[-1:], p.ln_2) for x, a, p in zip(seen.states, seen.attn, params.h)],
            "ln_f": normed(seen.states[-1], params.ln_f),
            "heads": [arithmetic(seen, n_block, len(seen.states[0]) - 1) for n_block in range(len(params.h))]}


def arithmetic(seen, n_block, query):
    """Each head of a block at one query position: q . k against every key up to it ("qk", before the division by
    sqrt(d_head)), the attention weights ("weights") and the weighted sum of the values ("out", d_head numbers)."""
    q, k, w, h = seen.q[n_block], seen.k[n_block], seen.attention[n_block], seen.heads[n_block]
    return {"query": query, "qk": np.round(np.einsum("hd,hjd->hj", q[:, query], k[:, :query + 1]), 3).tolist(),
            "weights": np.round(w[:, query, :query + 1], 4).tolist(), "out": np.round(h[:, query], 3).tolist()}
