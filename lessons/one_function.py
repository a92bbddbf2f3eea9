"""GPT-2 in one function: the whole forward pass of model.py, layer.py, attention.py, mlp.py and tensor_ops.py
written out in a single function, top to bottom, with nothing called but NumPy.

Read it after the chain (main.py down to tensor_ops.py): it is the same computation seen all at once,
every operation in the order the chain does it, so that it gives model.forward's logits bit for bit
(tests/core/test_one_function.py; up to attention.QUERY_ROWS tokens, past which attention.attend sums its
queries in slices and the two agree at float32 round-off). What the chain's files explain at length
(why the mask, why sqrt(d_head), why pre-LayerNorm, why the tanh GELU) is one comment here.

Try it from the project folder: python -m lessons.one_function tests/fixtures/induction-gpt2
"""
import math

import numpy as np


def gpt2(ids, params, config):
    """[n_seq] token ids -> [n_seq, vocab_size] logits. params: params.GPT2; config: config.Config."""
    n_seq, n_head, eps = len(ids), config.n_head, config.layer_norm_epsilon
    d_head = config.n_embd // n_head
    if not 0 < n_seq <= config.n_ctx or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                                                and 0 <= i < config.vocab_size for i in ids):  # as model.embed refuses
        raise ValueError(f"gpt2 reads 1 to {config.n_ctx} token ids, whole numbers 0 to {config.vocab_size - 1}")

    def layer_norm(x, ln):  # each position's vector: mean 0, variance 1, then a learned scale and shift
        mean = x.mean(axis=-1, keepdims=True)  # [n_seq, 1]
        var = x.var(axis=-1, keepdims=True)  # [n_seq, 1]
        return (x - mean) / np.sqrt(var + eps) * ln.weight + ln.bias  # [n_seq, n_embd]

    def softmax(x):  # over the last axis; the maximum is subtracted so that exp cannot overflow
        e = x - x.max(axis=-1, keepdims=True)
        np.exp(e, out=e)
        e /= e.sum(axis=-1, keepdims=True)
        return e

    def heads(t):  # [n_seq, n_embd] -> [n_head, n_seq, d_head]
        return t.reshape(n_seq, n_head, d_head).swapaxes(-3, -2)

    # the embeddings: what each token is, plus where it is
    x = params.wte[ids] + params.wpe[:n_seq]  # [n_seq, n_embd]
    # the causal mask: a position may look at itself and the positions before it, never after
    mask = np.triu(np.full((n_seq, n_seq), -np.inf, dtype=np.float32), k=1)  # [n_seq, n_seq]

    for p in params.h:  # one transformer block each
        # attention: positions exchange information
        h = layer_norm(x, p.ln_1)  # [n_seq, n_embd]
        qkv = h @ p.attn.c_attn.weight + p.attn.c_attn.bias  # [n_seq, 3*n_embd]
        q, k, v = [heads(t) for t in np.split(qkv, 3, axis=-1)]  # 3 x [n_head, n_seq, d_head]
        scores = (q / math.sqrt(d_head)) @ k.swapaxes(-1, -2)  # [n_head, n_seq, n_seq]
        scores += mask  # the future: -inf, a weight of exactly 0
        weights = softmax(scores)  # [n_head, n_seq, n_seq], each row sums to 1
        out = np.empty_like(q)  # [n_head, n_seq, d_head]
        out[...] = weights @ v  # each position's weighted average of the values
        merged = out.swapaxes(-3, -2).reshape(n_seq, n_head * d_head)  # [n_seq, n_embd]: heads side by side
        x = x + (merged @ p.attn.c_proj.weight + p.attn.c_proj.bias)  # [n_seq, n_embd]: added to the stream

        # the MLP: each position transforms what it holds
        h = layer_norm(x, p.ln_2) @ p.mlp.c_fc.weight + p.mlp.c_fc.bias  # [n_seq, n_inner]
        h = 0.5 * h * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * (h * h * h))))  # GELU, tanh form
        x = x + (h @ p.mlp.c_proj.weight + p.mlp.c_proj.bias)  # [n_seq, n_embd]: added to the stream

    # the final LayerNorm, then a score for every token of the vocabulary
    return layer_norm(x, params.ln_f) @ params.wte.T  # [n_seq, vocab_size]: weight tying


if __name__ == "__main__":  # the lesson's check, on a model folder: its logits against model.forward's
    import sys

    from load import load_model
    from model import forward
    from tokenizer import load_tokenizer
    from config import ModelError
    folder = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/induction-gpt2"
    try:
        params, config = load_model(folder)
        tok = load_tokenizer(folder)
        ids = tok.encode(sys.argv[2] if len(sys.argv) > 2 else "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk") or [tok.eos_id]
        mine, chain = gpt2(ids, params, config), forward(ids, params, config)
    except (ModelError, OSError, ValueError) as e:  # a folder that is no model, a prompt longer than its context
        sys.exit(f"error: {e}")
    print(f"{len(ids)} tokens: logits {mine.shape} {mine.dtype}, the same as model.forward's bit for bit: "
          f"{np.array_equal(mine, chain)}; the next token: {int(mine[-1].argmax())}")
