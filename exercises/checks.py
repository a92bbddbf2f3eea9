"""Each exercise's check: the learner's function against the project's own on seeded random float32 inputs of
several shapes, then the edge cases that matter, then, where the piece belongs in the model, the induction
model run with the learner's piece in place.

A check takes the learner's module and returns what it checked, in a few words, or raises checker.Wrong with
the first difference. "In place" means the name the core looks up is the learner's function for the length
of one run (unittest.mock.patch.object): the model's own files are not touched, and the learner's function is
called exactly where the project's would be.
"""
import contextlib
import functools
import os
from unittest import mock

import numpy as np

import attention
import layer
import mlp
import model
import tensor_ops
from attention import causal_mask, qkv_heads
from exercises.checker import ROOT, compare, compare_list, function
from instruments.ablate import ablate
from instruments.probe import probe
from lessons import backward as backward_lesson
from lessons import kv_cache
from lessons.bpe import byte_symbols, load_bpe, merge_steps, pieces
from lessons.sampling import filtered_probs
from load import load_model
from params import LayerNorm
from tokenizer import load_tokenizer

INDUCTION = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
TINY = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2")  # GPT-2's real vocabulary and merges
PROMPT = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk"  # the guided path's I: the model copies what followed "k"


@functools.lru_cache(maxsize=None)
def induction():
    """(params, config, ids) of the induction model and its prompt, loaded once."""
    params, config = load_model(INDUCTION)
    return params, config, load_tokenizer(INDUCTION).encode(PROMPT)


def normal(shape, scale=1.0, seed=0, offset=0.0):
    return (np.random.default_rng(seed).normal(offset, scale, shape)).astype(np.float32)


def next_token_probs(params, config, ids):
    """[n_seq, vocab_size]: the model's next-token probabilities at every position."""
    return tensor_ops.softmax(model.forward(ids, params, config))


def in_model(what, places, params=None):
    """Wrong unless the induction model's probabilities at every position of its prompt are the same with the
    learner's functions in `places` [(module, name, function)] as with the project's."""
    params = params or induction()[0]
    _, config, ids = induction()
    expected = next_token_probs(params, config, ids)
    with contextlib.ExitStack() as stack:
        for module, name, learners in places:
            stack.enter_context(mock.patch.object(module, name, learners))
        yours = next_token_probs(params, config, ids)
    compare(yours, expected, f"the induction model with your {what}: its next-token probabilities", atol=1e-5)


def gelu(module):
    yours = function(module, "gelu")
    for seed, (shape, scale) in enumerate([((5,), 1.0), ((3, 7), 3.0), ((2, 4, 9), 0.1)]):
        x = normal(shape, scale, seed)
        compare(yours(x.copy()), tensor_ops.gelu(x), f"gelu(x), x of shape {shape}")
    x = np.array([-60.0, -8.0, -1e-3, 0.0, 1e-3, 8.0, 60.0], np.float32)
    compare(yours(x.copy()), tensor_ops.gelu(x), "gelu(x) for x far from 0 and near it")
    in_model("gelu in its MLPs", [(mlp, "gelu", yours)])
    return "3 random shapes, x from -60 to 60, the induction model"


def layer_norm(module):
    yours = function(module, "layer_norm")
    for seed, shape in enumerate([(16,), (5, 16), (2, 3, 64)]):
        ln = LayerNorm(normal(shape[-1:], 1.0, seed + 10, offset=1.0), normal(shape[-1:], 0.5, seed + 20))
        for what, x in [("random", normal(shape, 2.0, seed, offset=3.0)),
                        ("nearly constant (variance near eps)", normal(shape, 1e-3, seed, offset=1.0)),
                        ("constant", np.full(shape, 7.0, np.float32))]:
            compare(yours(x.copy(), ln, 1e-5), tensor_ops.layer_norm(x, ln, 1e-5),
                    f"layer_norm(x, ln, 1e-5), x {what} of shape {shape}", atol=1e-4, rtol=1e-4)
    in_model("layer_norm everywhere", [(layer, "layer_norm", yours), (model, "layer_norm", yours)])
    return "3 shapes, random, nearly constant and constant vectors, the induction model"


def block(module):
    yours = function(module, "block")
    params, config, _ = induction()
    for n_block, p in enumerate(params.h):
        for n_seq in (1, 6, 23):
            x = normal((n_seq, config.n_embd), 1.0, n_seq + n_block)
            compare(yours(x.copy(), p, config, causal_mask(n_seq)), layer.block(x, p, config, causal_mask(n_seq)),
                    f"block(x, params.h[{n_block}], ...), x of shape {x.shape}")
    in_model("block in every layer", [(model, "block", yours)])
    return "both blocks of the induction model on 1, 6 and 23 positions, the whole model"


def softmax(module):
    yours = function(module, "softmax")
    shapes = [(7,), (3, 5), (2, 4, 6)]
    cases = [(f"random of shape {shape}", normal(shape, 3.0, seed)) for seed, shape in enumerate(shapes)]
    for what, rows in [("large logits", [[1000, 1001, 999], [-1000, -1001, -999]]),
                       ("masked scores", [[0, -np.inf, -np.inf], [1, 2, -np.inf]])]:
        cases.append((f"{what} {rows}", np.array(rows, np.float32)))
    for what, x in cases:
        compare(yours(x.copy()), tensor_ops.softmax(x), f"softmax(x), x {what}", atol=1e-6)
    in_model("softmax in attention", [(attention, "softmax", yours)])
    return "3 random shapes, large logits, masked rows, the induction model"


def attention_weights(module):
    yours = function(module, "attention_weights")
    n_head, d_head = 3, 8
    for seed, (n_q, n_k, scale) in enumerate([(5, 5, 1.0), (1, 1, 1.0), (12, 12, 6.0), (1, 6, 2.0)]):
        q, k = normal((n_head, n_q, d_head), scale, seed), normal((n_head, n_k, d_head), scale, seed + 10)
        mask = causal_mask(n_q, n_k)
        compare(yours(q.copy(), k.copy(), mask.copy()), attention.attention_weights(q, k, mask),
                f"attention_weights(q, k, mask), q {q.shape}, k {k.shape}", atol=1e-6)
    in_model("attention_weights", [(attention, "attention_weights", yours)])
    return "4 shapes (one token, one query over six keys, large scores), the induction model"


def heads(module):
    split, merge = function(module, "split_heads"), function(module, "merge_heads")
    for seed, shape in enumerate([(5, 12), (1, 12), (2, 5, 12)]):
        x = normal(shape, 1.0, seed)
        for n_head in (1, 3, 4):
            split_x = attention.split_heads(x, n_head)
            compare(split(x.copy(), n_head), split_x, f"split_heads(x, {n_head}), x of shape {shape}", atol=0)
            compare(merge(split_x.copy()), x, f"merge_heads(x), x of shape {split_x.shape}", atol=0)
    in_model("split_heads and merge_heads", [(attention, "split_heads", split), (attention, "merge_heads", merge)])
    return "3 shapes (one position, a stack of two sequences) and 1, 3 or 4 heads, the induction model"


def kv_step(module):
    yours = function(module, "kv_step")
    params, config, ids = induction()
    for n_block, p in enumerate(params.h):
        for n_seq in (1, 9):
            x = normal((n_seq, config.n_embd), 1.0, n_seq + n_block)
            _, k, v = qkv_heads(x, p.attn, config)  # [n_head, n_seq, d_head]
            cache_k = np.full((config.n_head, n_seq + 3, k.shape[-1]), np.nan, np.float32)  # nan: not to be read
            cache_v = cache_k.copy()
            cache_k[:, :n_seq - 1], cache_v[:, :n_seq - 1] = k[:, :-1], v[:, :-1]
            what = f"kv_step for the token at position {n_seq - 1} of block {n_block}"
            compare(yours(x[-1:].copy(), p.attn, config, cache_k, cache_v, n_seq - 1),
                    attention.attention(x, p.attn, config, causal_mask(n_seq))[-1:], what)
            compare(cache_k[:, n_seq - 1], k[:, -1], f"the key {what} wrote in cache_k[:, {n_seq - 1}]", atol=1e-6)
            compare(cache_v[:, n_seq - 1], v[:, -1], f"the value {what} wrote in cache_v[:, {n_seq - 1}]", atol=1e-6)

    def cached_attention(x, p, config, cache, n_block, mask, prefill=kv_cache.cached_attention):
        if len(x) > 1:
            return prefill(x, p, config, cache, n_block, mask)  # the prompt at once: the project's
        return yours(x, p, config, cache.k[n_block], cache.v[n_block], len(cache.ids))

    for prompt in (ids[:1], ids):
        text = list(prompt)
        step = kv_cache.cached_step(params, config, len(prompt) + 8)
        for n in range(8):
            with mock.patch.object(kv_cache, "cached_attention", cached_attention):
                probs = tensor_ops.softmax(step(text))
            compare(probs, next_token_probs(params, config, text)[-1],
                    f"the induction model generating with your kv_step, token {n + 1} after a {len(prompt)}-token "
                    "prompt: its next-token probabilities")
            text.append(int(np.argmax(probs)))
    return "positions 0 and 8 of both blocks, the cache written, 8 generated tokens after 1 and 23"


def sampling(module):
    yours = function(module, "next_token_probs")
    params, config, ids = induction()
    random_logits, model_logits = normal((50,), 3.0, 1), model.forward(ids, params, config)[-1]
    for what, logits in [("random logits [50]", random_logits), ("the induction model's logits", model_logits)]:
        mass = np.cumsum(np.sort(filtered_probs(logits, 0.9))[::-1])
        p = float((mass[2] + mass[3]) / 2)  # between two prefixes' masses: no rounding decides how many stay
        for temperature, top_k, top_p in [(1.0, None, None), (0.7, 5, None), (0.9, None, p), (0.9, 2, p),
                                          (2.5, None, None), (1.0, 1, None), (1.0, 1000, None), (0.9, None, 1.0)]:
            kept = filtered_probs(logits, temperature, top_k, top_p)
            compare(yours(logits.copy(), temperature, top_k, top_p), kept / kept.sum(),
                    f"next_token_probs({what}, temperature={temperature}, top_k={top_k}, top_p={top_p})", atol=1e-6)
    return "random logits and the induction model's, 8 settings of temperature, top-k and top-p"


def merged(symbols, ranks):
    """lessons.bpe's symbols of a piece after all its merges."""
    steps = merge_steps(symbols, ranks)
    return steps[-1][1] if steps else list(symbols)


@functools.lru_cache(maxsize=None)
def gpt2_tables():
    return load_bpe(TINY)


def bpe_merge(module):
    yours = function(module, "merge")
    toy = {("a", "a"): 0, ("b", "c"): 1, ("a", "b"): 2, ("aa", "bc"): 3}
    for symbols in (["a"], ["a", "a", "a"], ["a", "a", "a", "a", "a"], ["a", "b", "c"], ["x", "y"], list("aabca")):
        compare_list(yours(list(symbols), toy), merged(symbols, toy), f"merge({symbols}, {toy})")
    vocab, ranks = gpt2_tables()
    symbol, tokenizer = byte_symbols(), load_tokenizer(TINY)
    for text in ("The animal is yellow. It's a cat. It's color is yellow. The color of the cat",
                 " a hello 👋 world", "aaaaaaaaaaa  indentation\n\n\tend", "Zürich, 2026: ∑ x² ≥ 0!!"):
        ids = []
        for piece in pieces(text):
            start = [symbol[b] for b in piece.encode("utf-8")]
            symbols = yours(list(start), ranks)
            compare_list(symbols, merged(start, ranks), f"merge on the piece {piece!r} with GPT-2's merges")
            ids += [vocab[s] for s in symbols]
        compare_list(ids, tokenizer.encode(text), f"GPT-2's ids for {text!r} with your merge")
    return "6 pieces with 4 merges, 4 texts with GPT-2's merges, the ids the tokenizers package gives"


def logit_lens(module):
    yours = function(module, "lens")
    params, config, ids = induction()
    seen = probe(ids, params, config)
    for n_layer, x in enumerate(seen.states):
        for rows in (x, x[:1]):
            expected = tensor_ops.softmax(model.unembed(rows[-1], params, config))
            compare(yours(rows.copy(), params, config), expected, f"lens on layer {n_layer}, [{len(rows)}, n_embd]",
                    atol=1e-6)
    tiny = load_model(TINY)
    x = normal((4, tiny[1].n_embd), 1.0, 3)
    compare(yours(x.copy(), *tiny), tensor_ops.softmax(model.unembed(x[-1], *tiny)), "lens on tiny-gpt2", atol=1e-6)
    compare(yours(seen.states[-1], params, config), next_token_probs(params, config, ids)[-1],
            "lens on the induction model's last layer, which is its own prediction", atol=1e-6)
    return "every layer of the induction model, one position and all, tiny-gpt2's 50257 tokens"


def ablate_head(module):
    yours = function(module, "ablate_head")
    params, config, _ = induction()
    before = [p.attn.c_proj.weight.copy() for p in params.h]
    for n_block in range(config.n_layer):
        for head in range(config.n_head):
            ablated, expected = yours(params, config, n_block, head), ablate(params, [(n_block, head)], config)
            what = f"ablate_head(params, config, {n_block}, {head})"
            for n, (p, q) in enumerate(zip(ablated.h, expected.h)):
                compare(p.attn.c_proj.weight, q.attn.c_proj.weight, f"{what}: block {n}'s c_proj.weight", atol=0)
                compare(p.attn.c_proj.bias, q.attn.c_proj.bias, f"{what}: block {n}'s c_proj.bias", atol=0)
            in_model(what, [], params=ablated)
            for n, p in enumerate(params.h):
                compare(p.attn.c_proj.weight, before[n], f"after {what}, the params passed in: block {n}'s "
                        "c_proj.weight", atol=0)
    return "every head of the induction model removed, its weights and its run, the params passed in unchanged"


def in_backward(what, name, learners):
    """Wrong unless the gradient of log P(the next token) reaching the induction model's embeddings is the
    same with the learner's function in place of lessons.backward's `name` as without."""
    params, config, ids = induction()
    seen = probe(ids, params, config)
    _, d_logits = backward_lesson.metric_gradient(seen.logits[-1], int(np.argmax(seen.logits[-1])), kind="logprob")
    expected = backward_lesson.backward(seen, d_logits, params, config).embedding
    with mock.patch.object(backward_lesson, name, learners):
        yours = backward_lesson.backward(seen, d_logits, params, config).embedding
    compare(yours, expected, f"the induction model's backward pass with your {what}: the embeddings' gradient",
            atol=1e-5, rtol=1e-4)


def softmax_backward(module):
    yours = function(module, "softmax_backward")
    for seed, (shape, scale) in enumerate([((6,), 1.0), ((3, 5), 2.0), ((2, 3, 7), 1.0), ((4, 9), 20.0)]):
        y, dy = tensor_ops.softmax(normal(shape, scale, seed)), normal(shape, 1.0, seed + 10)
        compare(yours(dy.copy(), y.copy()), backward_lesson.softmax_backward(dy, y),
                f"softmax_backward(dy, y), shape {shape}" + (", y nearly one-hot" if scale > 10 else ""), atol=1e-6)
    in_backward("softmax_backward", "softmax_backward", yours)
    return "4 shapes (one nearly one-hot), the induction model's whole backward pass"


def layer_norm_backward(module):
    yours = function(module, "layer_norm_backward")
    for seed, (shape, scale) in enumerate([((8,), 1.0), ((3, 16), 3.0), ((2, 3, 12), 1.0), ((4, 16), 1e-3)]):
        x, dy = normal(shape, scale, seed, offset=2.0), normal(shape, 1.0, seed + 10)
        ln = LayerNorm(normal(shape[-1:], 1.0, seed + 20, offset=1.0), normal(shape[-1:], 1.0, seed + 30))
        compare(yours(dy.copy(), x.copy(), ln, 1e-5), backward_lesson.layer_norm_backward(dy, x, ln, 1e-5),
                f"layer_norm_backward(dy, x, ln, 1e-5), shape {shape}" + (", variance near eps" if scale < 1 else ""),
                atol=1e-4, rtol=1e-4)
    in_backward("layer_norm_backward", "layer_norm_backward", yours)
    return "4 shapes (one of variance near eps), the induction model's whole backward pass"

