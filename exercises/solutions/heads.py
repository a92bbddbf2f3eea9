"""Exercise 6's solution: splitting and merging heads."""


def split_heads(x, n_head):
    *stack, n_seq, n_embd = x.shape
    return x.reshape(*stack, n_seq, n_head, n_embd // n_head).swapaxes(-3, -2)  # [..., n_head, n_seq, d_head]


def merge_heads(x):
    *stack, n_head, n_seq, d_head = x.shape
    return x.swapaxes(-3, -2).reshape(*stack, n_seq, n_head * d_head)  # [..., n_seq, n_embd]
