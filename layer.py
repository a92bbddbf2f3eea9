"""One transformer block: [n_seq, n_embd] -> [n_seq, n_embd].

(The file is called layer.py, but what it holds is one block; the code says n_block for a block's index.
The instruments say "layer i" for the residual stream entering block i: layer 0 is the embeddings' output,
layer n_layer the stream after the last block. So block i reads layer i and writes layer i + 1.)

Called by model.py, n_layer times. The block reads the residual stream x through a LayerNorm, lets
attention (attention.py) and then the MLP (mlp.py) compute something, and adds their results back
to x. This is the "pre-LayerNorm" arrangement of GPT-2: the normalisation sits on the branch, not on
the stream, so x itself is only ever added to and the signal of early layers reaches the last ones
unchanged. (The original Transformer normalised after the addition, which made deep stacks hard to
train.)
"""
from attention import attention
from config import Config
from mlp import mlp
from params import Block
from tensor_ops import layer_norm


def block(x, p: Block, config: Config, mask):
    eps = config.layer_norm_epsilon
    x = x + attention(layer_norm(x, p.ln_1, eps), p.attn, config, mask)  # positions exchange information
    x = x + mlp(layer_norm(x, p.ln_2, eps), p.mlp)  # each position transforms what it holds
    return x  # [n_seq, n_embd]
