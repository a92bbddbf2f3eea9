"""Exercise 3, one transformer block (the guided path's step 2): [n_seq, n_embd] -> [n_seq, n_embd].

Write block(x, p, config, mask): x [n_seq, n_embd] float32, the residual stream entering the block; p a
params.Block (p.ln_1, p.attn, p.ln_2, p.mlp); config a config.Config (config.layer_norm_epsilon); mask
[n_seq, n_seq] from attention.causal_mask. Return the stream after the block, [n_seq, n_embd] float32.

GPT-2's block is "pre-LayerNorm": attention reads the stream through ln_1 and its output is added to the
stream; then the MLP reads the new stream through ln_2 and its output is added too. The stream itself is
only ever added to.

Hint: you may call tensor_ops.layer_norm, attention.attention and mlp.mlp (imported below). Read
lessons/one_function.py's loop body, where the same block is written out in NumPy lines.

Check it: python -m exercises check block. Then the induction model runs with your block in every layer.
"""
from attention import attention
from mlp import mlp
from tensor_ops import layer_norm


def block(x, p, config, mask):
    raise NotImplementedError("write block(x, p, config, mask); its module's docstring says what it computes")
