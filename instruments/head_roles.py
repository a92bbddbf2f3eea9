"""--heads: what each attention head does, as four scores between 0 and 1.

Some heads do one simple thing everywhere, and their patterns show it:
  previous-token  position t looks at t - 1. Such a head copies "which token came before me" into
                  each position, the first half of an induction circuit.
  first-token     position t looks at position 0. A head with nothing useful to read rests its
                  attention there (its weights must add up to 1 somewhere).
  induction       on a text that repeats, position t looks at the token that followed t's earlier
                  occurrence, and so predicts that the text goes on as it went before: "A B ... A" -> B.
                  This is how a model continues a pattern it has never seen in training.
  duplicate       on a text that repeats, position t looks at the earlier occurrence of its own token:
                  it notices "this token came before" (the IOI circuit's duplicate-token heads).

The first two are measured on the prompt, the last two on a sequence of R random tokens repeated twice
(after <|endoftext|>): random, so that only the repetition can tell a head where to look.
"""
from typing import NamedTuple

import numpy as np

from config import Config
from instruments.probe import Probe, probe
from params import GPT2

PERIOD = 50  # R, the length of the random sequence (shorter if the model's context is)
SEED = 0


def too_short(config: Config):
    """Why this model's context is too short to measure the roles (a sentence), or None."""
    if (config.n_ctx - 1) // 2 < 2:
        return (f"--heads measures induction on random tokens repeated twice, at least 2 of them after "
                f"<|endoftext|>: a model that reads 5 tokens or more; this one reads {config.n_ctx}")
    return None


def repeated_tokens(config: Config, eos_id):
    """[<|endoftext|>] + r + r, with r R random tokens: the same every run. From ids 1000..9999 where
    the vocabulary has them (ordinary words and pieces of GPT-2's), else from the whole vocabulary."""
    period = min(PERIOD, (config.n_ctx - 1) // 2)
    low, high = (1000, 10000) if config.vocab_size > 10000 else (0, config.vocab_size)
    choices = [i for i in range(low, high) if i != eos_id]
    r = np.random.default_rng(SEED).choice(choices, period).tolist()
    return [eos_id] + r + r, period


class HeadScores(NamedTuple):  # in --json, an object with these names
    block: int
    head: int
    previous: float
    first: float
    induction: float
    duplicate: float


def head_scores(on_prompt: Probe, params: GPT2, config: Config, eos_id):
    """(sequence, R, [HeadScores for every head]): on_prompt is the probe of the prompt (two tokens or more)."""
    short = too_short(config)
    if short:
        raise ValueError(short)
    sequence, period = repeated_tokens(config, eos_id)
    on_repeat = probe(sequence, params, config, on_prompt.steer).attention  # the same model: steered too
    t = np.arange(1, len(on_prompt.states[0]))  # the prompt's positions with an earlier one
    second = np.arange(period + 1, len(sequence))  # the second copy: t - R is t's earlier occurrence
    scores = []
    for n_block in range(config.n_layer):
        prompt, repeat = on_prompt.attention[n_block], on_repeat[n_block]  # [n_head, n_seq, n_seq]
        previous = prompt[:, t, t - 1].mean(axis=-1)  # [n_head]
        first = prompt[:, t, 0].mean(axis=-1)
        induction = repeat[:, second, second - period + 1].mean(axis=-1)  # the token after the earlier occurrence
        duplicate = repeat[:, second, second - period].mean(axis=-1)  # the earlier occurrence itself
        for head in range(config.n_head):
            scores.append(HeadScores(n_block, head, float(previous[head]), float(first[head]),
                                     float(induction[head]), float(duplicate[head])))
    return sequence, period, scores


ROLES = [("previous", "previous-token", "copies which token came before each position"),
         ("first", "first-token", "rests on position 0 when nothing else is relevant"),
         ("induction", "induction", "looks for the token after an earlier occurrence of the current one"),
         ("duplicate", "duplicate-token", "looks at an earlier occurrence of the current token")]


def print_heads(scores, period, shown=5):
    print(f"heads: the {shown} highest scores for each role (induction and duplicate-token measured on {period} "
          "random tokens repeated)")
    for score, role, meaning in ROLES:
        best = sorted(scores, key=lambda s: -getattr(s, score))[:shown]
        print(f"  {role:<15} " + "  ".join(f"{s.block}.{s.head} {getattr(s, score):.2f}" for s in best)
              + f"   ({meaning})")
    print()
