"""Exercise 1, GELU (the guided path's step 1): the MLP's non-linearity, in the form GPT-2 was trained with.

Write gelu(x): for an array x of any shape, float32, return an array of the same shape and dtype, each entry
0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))).

Hint: tensor_ops.py explains why this tanh form and not the exact one with erf (GPT-2 was trained with it, so
it is part of the model), and why the constant must be a Python float: np.sqrt(2 / np.pi) is a float64
scalar, and it would turn the float32 array into float64.

Check it: python -m exercises check gelu. Then the induction model runs with your gelu in its MLPs.
"""
import math

import numpy as np


def gelu(x):
    raise NotImplementedError("write gelu(x); its module's docstring says what it computes")
