"""Exercise 12, softmax's backward (the guided path's step 9): how a change of the pattern reaches the scores.

Write softmax_backward(dy, y): y = softmax(s) along the last axis, [..., n] float32; dy [..., n] float32, the
gradient of some number with respect to y. Return ds [..., n] float32, its gradient with respect to s.

Every output depends on every score, through the sum softmax divides by: dy_j/ds_i = y_j (1[i = j] - y_i).
Summed over j: ds_i = y_i (dy_i - sum_j dy_j y_j).

Hint: read lessons/backward.py's docstring. Only y is needed, not s. The sum is over the last axis; keep its
axis (keepdims=True) so that it broadcasts.

Check it: python -m exercises check softmax_backward. Then the induction model's whole backward pass runs with
your function in every attention, and the gradient reaching the embeddings is compared.
"""


def softmax_backward(dy, y):
    raise NotImplementedError("write softmax_backward(dy, y); its module's docstring says what it computes")
