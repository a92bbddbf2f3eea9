"""Exercise 10, the logit lens of one layer (the guided path's step 7): what the model would say if it stopped.

Write lens(x, params, config): x [n_seq, n_embd] float32, the residual stream at one layer (probe's
states[i]); params a params.GPT2 (params.ln_f, params.wte); config a config.Config. Return [vocab_size]
float32: the probabilities of the next token read from the last position, as if no block came after: the
final LayerNorm, the output projection (weight tying: wte's transpose), softmax.

Hint: read instruments/logit_lens.py and model.unembed. Read only the last position, x[-1]. You may call
tensor_ops.layer_norm and tensor_ops.softmax.

Check it: python -m exercises check logit_lens. Then every layer of the induction model is read with your
lens; the last one must be the model's own prediction.
"""
from tensor_ops import layer_norm, softmax


def lens(x, params, config):
    raise NotImplementedError("write lens(x, params, config); its module's docstring says what it computes")
