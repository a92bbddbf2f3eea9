"""Exercise 11, removing a head (the guided path's step 8): an experiment done in the weights.

Write ablate_head(params, config, n_block, head): params a params.GPT2, config a config.Config. Return a new
params.GPT2 in which head `head` of block `n_block` writes nothing into the residual stream, and everything
else is as it was. params must not change: its arrays are shared, so copy what you change.

Hint: read instruments/ablate.py's docstring. The heads' outputs sit side by side, d_head numbers each, and
only rows head * d_head to (head + 1) * d_head - 1 of c_proj.weight ever multiply head `head`'s: zero them.
The bias belongs to no head: keep it. The parameters are frozen dataclasses: dataclasses.replace(obj,
field=value) makes a changed copy; a tuple of blocks is rebuilt with the one block replaced.

Check it: python -m exercises check ablate_head. Then the induction model runs without each of its heads.
"""
import dataclasses


def ablate_head(params, config, n_block, head):
    raise NotImplementedError("write ablate_head(...); its module's docstring says what it computes")
