"""Exercise 6, splitting and merging heads (the guided path's step 3): one reshape and one transpose each way.

Write split_heads(x, n_head): x [..., n_seq, n_embd] -> [..., n_head, n_seq, d_head], with d_head = n_embd //
n_head. Head h gets entries h * d_head to (h + 1) * d_head - 1 of every position's vector. Any leading axes
(the "...") come along unchanged.

Write merge_heads(x), the inverse: [..., n_head, n_seq, d_head] -> [..., n_seq, n_head * d_head], the heads'
vectors side by side again, head 0 first.

Hint: reshape can only cut the last axis into (n_head, d_head), which gives [..., n_seq, n_head, d_head]; the
heads' axis must then trade places with the positions' (swapaxes). Read attention.py.

Check it: python -m exercises check heads. Then the induction model runs with your two functions.
"""


def split_heads(x, n_head):
    raise NotImplementedError("write split_heads(x, n_head); its module's docstring says what it computes")


def merge_heads(x):
    raise NotImplementedError("write merge_heads(x); its module's docstring says what it computes")
