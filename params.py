"""GPT-2's weights, one frozen dataclass per part, named as in the checkpoint.

A tensor called `h.3.attn.c_attn.weight` in model.safetensors is `params.h[3].attn.c_attn.weight`
here. Shapes are given for one token of n_embd numbers; all arrays are float32.

GPT-2 stores its linear layers in the "Conv1D" layout, [in, out], so a layer is `x @ weight + bias`
with no transpose. The output projection has no weights of its own: it reuses the token embedding
`wte` (weight tying).
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerNorm:
    weight: np.ndarray  # [n_embd], the learned scale
    bias: np.ndarray  # [n_embd], the learned shift


@dataclass(frozen=True)
class Linear:
    weight: np.ndarray  # [n_in, n_out]
    bias: np.ndarray  # [n_out]


@dataclass(frozen=True)
class Attention:
    c_attn: Linear  # [n_embd, 3*n_embd]: queries, keys and values in one product
    c_proj: Linear  # [n_embd, n_embd]: mixes the heads' outputs back into the stream


@dataclass(frozen=True)
class MLP:
    c_fc: Linear  # [n_embd, n_inner]
    c_proj: Linear  # [n_inner, n_embd]


@dataclass(frozen=True)
class Block:
    ln_1: LayerNorm
    attn: Attention
    ln_2: LayerNorm
    mlp: MLP


@dataclass(frozen=True)
class GPT2:
    wte: np.ndarray  # [vocab_size, n_embd]: token embeddings, and the output projection
    wpe: np.ndarray  # [n_ctx, n_embd]: position embeddings
    h: tuple  # n_layer Blocks
    ln_f: LayerNorm
