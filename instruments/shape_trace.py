"""--trace: the shape of the data at every stage of the forward pass, with the code that makes it.

The first block is taken apart with the functions of attention.py, mlp.py and tensor_ops.py, and
checked to give exactly what layer.block gives; the other blocks have the same shapes.
"""
import numpy as np

from attention import attend, attention_weights, causal_mask, merge_heads, qkv_heads
from config import Config
from layer import block
from model import embed, unembed
from params import GPT2
from instruments.steer import onto
from tensor_ops import gelu, layer_norm, linear


def trace(ids, params: GPT2, config: Config, steer=None):
    """[{"code", "shape" (symbolic), "actual" (a list, or None)}] for one forward pass over ids (of the steered model,
    with --steer), as --json holds it."""
    return [{"code": code, "shape": symbolic, "actual": None if shape is None else list(shape)}
            for code, symbolic, shape in traced(ids, params, config, steer)]


def traced(ids, params: GPT2, config: Config, steer=None):
    """[(code, symbolic shape, actual shape)]: trace's rows, as computed."""
    eps, p = config.layer_norm_epsilon, params.h[0]
    x = embed(ids, params)
    x = onto(x, steer, 0)  # --steer: nothing, unless it steers block 0
    mask = causal_mask(len(ids))
    h = layer_norm(x, p.ln_1, eps)
    q, k, v = qkv_heads(h, p.attn, config)
    w = attention_weights(q, k, mask)
    a = linear(merge_heads(attend(q, k, v, mask)), p.attn.c_proj)  # attend: w @ v, in slices beyond QUERY_ROWS
    m = gelu(linear(layer_norm(x + a, p.ln_2, eps), p.mlp.c_fc))
    after = x + a + linear(m, p.mlp.c_proj)
    assert np.array_equal(after, block(x, p, config, mask)), "the pieces must be layer.block"
    for n_block, p in enumerate(params.h[1:], 1):
        after = block(onto(after, steer, n_block), p, config, mask)
    logits = unembed(after, params, config)
    steered = [] if steer is None else [(f"x = onto(x, steer, {steer.at})  # --steer: x[:k] + C * v, k = {len(steer.add)}",
                                         "[n_seq, n_embd]", after.shape)]
    return [
        ("ids", "[n_seq]", np.shape(ids)),
        ("x = embed(ids)  # wte[ids] + wpe[:n_seq]", "[n_seq, n_embd]", x.shape),
        (f"block 0 of {config.n_layer} (layer.py)", "", None),
        ("  h = layer_norm(x, ln_1)", "[n_seq, n_embd]", h.shape),
        ("  q, k, v = qkv_heads(h)  # c_attn, split", "3 x [n_head, n_seq, d_head]", q.shape),
        ("  w = attention_weights(q, k, mask)", "[n_head, n_seq, n_seq]", w.shape),
        ("  a = linear(merge_heads(attend(q, k, v, mask)), c_proj)", "[n_seq, n_embd]", a.shape),
        ("  m = gelu(linear(layer_norm(x + a, ln_2), c_fc))", "[n_seq, n_inner]", m.shape),
        ("  x = x + a + linear(m, c_proj)", "[n_seq, n_embd]", after.shape),
        *steered,
        (f"blocks 1 to {config.n_layer - 1}: the same shapes" if config.n_layer > 1 else "(the only block)", "", None),
        ("logits = unembed(x)  # layer_norm(x, ln_f) @ wte.T", "[n_seq, vocab_size]", logits.shape),
    ]


def print_trace(rows, config: Config):
    print(f"forward pass: n_embd={config.n_embd} n_head={config.n_head} d_head={config.n_embd // config.n_head} "
          f"n_inner={config.n_inner} n_layer={config.n_layer} vocab_size={config.vocab_size}")
    for row in rows:
        prefix = "3 x " if row["shape"].startswith("3 x") else ""
        actual = "" if row["actual"] is None else prefix + str(row["actual"])
        print(f"  {row['code']:<56} {row['shape']:<28} {actual}".rstrip())
    print()
