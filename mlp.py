"""The feed-forward half of a transformer block: [n_seq, n_embd] -> [n_seq, n_embd].

Called by layer.py. It works on each position separately: widen every token's vector to n_inner
numbers (4 * n_embd), apply GELU, and project back. Attention moves information between positions;
this is where the model transforms what each position holds.
"""
from params import MLP
from tensor_ops import gelu, linear


def mlp(x, p: MLP):
    h = gelu(linear(x, p.c_fc))  # [n_seq, n_embd] -> [n_seq, n_inner]
    return linear(h, p.c_proj)  # [n_seq, n_inner] -> [n_seq, n_embd]
