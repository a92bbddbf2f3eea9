"""--lens: the logit lens. What would GPT-2 predict if it stopped after block i?

The residual stream has the same shape after every block, so any of them can be read the way the
last one is: through the final LayerNorm and the tied output projection. For the last prompt
position this shows the prediction forming with depth: early blocks often guess a frequent word,
later ones the word that fits the context. The last row is, by construction, the model's own
prediction.
"""
import numpy as np

from config import Config
from params import GPT2
from probe import Probe
from tensor_ops import layer_norm, softmax
from tokenizer import GPT2Tokenizer


def logit_lens(probe: Probe, params: GPT2, config: Config, tok: GPT2Tokenizer):
    """[layer, id, token text, probability] of the top token at the last position, for the embeddings
    (layer 0) and after each block (layer i is after block i - 1)."""
    rows = []
    for layer, x in enumerate(probe.states):
        logits = layer_norm(x[-1], params.ln_f, config.layer_norm_epsilon) @ params.wte.T  # [vocab_size]
        probs = softmax(logits)
        best = int(np.argmax(probs))
        rows.append([layer, best, tok.decode([best]), float(probs[best])])
    return rows


def print_lens(rows):
    print("logit lens, last prompt position: the top token read from the residual stream")
    for layer, token_id, text, prob in rows:
        where = "embeddings" if layer == 0 else f"after block {layer - 1}"
        print(f"  {where:<16} {text!r:<16} {prob:7.2%}  {'#' * round(prob * 40)}")
    print()
