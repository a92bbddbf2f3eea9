"""Exercises: write GPT-2's pieces yourself, and a checker says in one sentence whether they work.

Each exercise is one file here with a function to fill in; its docstring says what the function computes, the
shapes, and which lesson or core file to read. exercises/solutions/ holds a solution under the same name. The
checker (python -m exercises) imports your file, runs your function beside the project's own on seeded random
inputs and on the edge cases that matter, then runs the induction model with your piece in place.

  python -m exercises                    the list, and whether your version passes now
  python -m exercises check layer_norm   one exercise, by name or number: one line, exit 0 or 1
  python -m exercises check              every exercise, one line each
  ... --solution                         the shipped solution instead of your file

They follow the README's guided path: the step each belongs to is in EXERCISES below. They use the project's
core, lessons and instruments; nothing else imports them.
"""
import os
from typing import Callable, NamedTuple

from exercises import checks

HERE = os.path.dirname(os.path.abspath(__file__))


class Exercise(NamedTuple):
    number: int
    name: str  # its file's name, here and in solutions/
    step: int  # the step of the README's guided path it follows
    check: Callable  # the learner's module -> what was checked, in a few words; raises checker.Wrong

    def path(self, solution=False):
        return os.path.join(HERE, "solutions" if solution else "", f"{self.name}.py")


EXERCISES = [Exercise(n, check.__name__, step, check) for n, (step, check) in enumerate([
    (1, checks.gelu), (1, checks.layer_norm), (2, checks.block), (3, checks.softmax), (3, checks.attention_weights),
    (3, checks.heads), (4, checks.kv_step), (5, checks.sampling), (6, checks.bpe_merge), (7, checks.logit_lens),
    (8, checks.ablate_head), (9, checks.softmax_backward), (9, checks.layer_norm_backward)], start=1)]
