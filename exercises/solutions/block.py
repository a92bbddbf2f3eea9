"""Exercise 3's solution: one transformer block."""
from attention import attention
from mlp import mlp
from tensor_ops import layer_norm


def block(x, p, config, mask):
    eps = config.layer_norm_epsilon
    x = x + attention(layer_norm(x, p.ln_1, eps), p.attn, config, mask)  # [n_seq, n_embd]
    return x + mlp(layer_norm(x, p.ln_2, eps), p.mlp)  # [n_seq, n_embd]
