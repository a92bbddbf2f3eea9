"""What the experiments' Python functions take, checked before they compute: each raises a ValueError whose one
sentence names what it takes, instead of answering a question nobody asked (a string of kinds iterated letter by
letter, a target of -1 read as the last token, an empty list of positions giving a grid of nothing). The command
line checks its own options in plumbing/; these are the same rules for a caller in Python.
"""
import numpy as np

from config import Config


def whole(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def token(value, config: Config, name="target"):
    """value, a token id of this model (0 to vocab_size - 1)."""
    if not whole(value) or not 0 <= value < config.vocab_size:
        raise ValueError(f"{name} is a token id, a whole number 0 to {config.vocab_size - 1}, not {value!r:.40}")
    return int(value)


def target_and_versus(target, versus, config: Config):
    """(target, versus): two different token ids, versus None for the target's probability alone."""
    token(target, config)
    if versus is not None and token(versus, config, "versus") == target:
        raise ValueError(f"versus is the target ({target}): the difference of a logit with itself is 0 whatever "
                         "the model does; give another token, or None")
    return target, versus


def kinds(value, known, name="kinds"):
    """value, a list of names from known (a string is refused, not read letter by letter; [] asks for none)."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} is a list of {', '.join(known)} (any of them), not {value!r:.40}")
    unknown = [kind for kind in value if kind not in known]
    if unknown:
        raise ValueError(f"{unknown[0]!r:.40} is not one of the {name}: {', '.join(known)}")
    return list(value)


def positions(value, n_seq):
    """value, one or more positions of a prompt of n_seq tokens (whole numbers 0 to n_seq - 1), any order."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not len(value) or \
            not all(whole(t) and 0 <= t < n_seq for t in value):
        raise ValueError(f"positions must be one or more positions of the prompt's {n_seq}: whole numbers 0 to {n_seq - 1}")
    return sorted({int(t) for t in value})


def same_prompt_length(clean, corrupted):
    """Two probes of prompts of one length, as patching needs (a position of one is the same position of the other)."""
    for seen in (clean, corrupted):
        if not hasattr(seen, "states"):
            raise ValueError(f"clean and corrupted are probes (instruments.probe.probe), not {type(seen).__name__}")
    if len(clean.states[0]) != len(corrupted.states[0]):
        raise ValueError(f"the clean and corrupted prompts must have as many tokens: {len(clean.states[0])} and "
                         f"{len(corrupted.states[0])}")
    return len(clean.states[0])


def heads(value, config: Config):
    """value, a list of (block, head) pairs of this model: a string ("1.0") or a pair alone is refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set)):
        raise ValueError(f"heads is a list of (block, head) pairs, such as [(1, 0)], not {value!r:.40}")
    for pair in value:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(whole(n) for n in pair)):
            raise ValueError(f"heads is a list of (block, head) pairs of whole numbers, such as [(1, 0)]: "
                             f"{pair!r:.40} is not one")
    missing = check_heads(value, config)
    if missing:
        raise ValueError(missing)
    return [tuple(int(n) for n in pair) for pair in value]


def check_heads(heads, config: Config):
    """The first head that this model does not have, as a sentence; None if all exist."""
    for n_block, head in heads:
        if not (0 <= n_block < config.n_layer and 0 <= head < config.n_head):
            return (f"there is no head {n_block}.{head}: this model has blocks 0 to {config.n_layer - 1} "
                    f"and heads 0 to {config.n_head - 1} in each")
    return None

