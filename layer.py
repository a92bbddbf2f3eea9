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
    x = x + attention_half(x, p, config, mask)  # positions exchange information
    x = x + mlp_half(x, p, config)  # each position transforms what it holds
    return x  # [n_seq, n_embd]


def attention_half(x, p: Block, config: Config, mask):
    """What the block's attention adds to the stream x [n_seq, n_embd]: it reads x through ln_1."""
    return attention(layer_norm(x, p.ln_1, config.layer_norm_epsilon), p.attn, config, mask)


def mlp_half(x, p: Block, config: Config):
    """What the block's MLP adds to the stream x [..., n_embd]: it reads x through ln_2. (The instruments and the
    KV cache run attention their own way, keeping or reusing its parts, and this half as it is.)"""
    return mlp(layer_norm(x, p.ln_2, config.layer_norm_epsilon), p.mlp)
