"""The exercises and their checker: every exercise as shipped fails its check in one sentence, every solution
passes, and the checks have teeth: each solution changed in one small place (an operator swapped, a constant
changed, a sign dropped, an axis moved, a name mistaken for its neighbour: ln_1 for ln_2, the weight for the bias,
max for min) fails its check, for at least 85% of all such changes (all 139 of them when this was written)."""
import ast
import os
import subprocess
import sys
import types

import pytest

from conftest import ROOT
from exercises import EXERCISES
from exercises.checker import verdict

SHIPPED_FAILS = "not written yet: exercises/{name}.py, line"
SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.MatMult: ast.Mult,
         ast.Pow: ast.Mult, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
NEIGHBOURS = {"ln_1": "ln_2", "ln_2": "ln_1", "weight": "bias", "bias": "weight", "max": "min", "min": "max",
              "mean": "sum", "sum": "mean", "c_fc": "c_proj", "c_attn": "c_proj"}  # a name mistaken for its neighbour


def run_python(*args):
    """python ARGS from the project folder, as the README runs the exercises."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def changes(tree):
    """Every small change of the functions in tree, as (where, how) pairs: how(node) makes the change in a copy."""
    found = []
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(function):
            if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAPS:
                found.append((node, lambda n: setattr(n, "op", SWAPS[type(n.op)]())))
            elif isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
                found.append((node, lambda n: setattr(n, "ops", [SWAPS[type(n.ops[0])](), *n.ops[1:]])))
            elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
                found.append((node, lambda n: setattr(n, "value", not n.value)))
            elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
                found.append((node, lambda n: setattr(n, "value", n.value + 1 if isinstance(n.value, int) else
                                                       (n.value * 2 if n.value else 1.0))))
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                found.append((node, lambda n: setattr(n, "op", ast.UAdd())))
            elif isinstance(node, ast.Attribute) and node.attr in NEIGHBOURS:
                found.append((node, lambda n: setattr(n, "attr", NEIGHBOURS[n.attr])))
    return found


def mutants(path):
    """(a line saying what changed, the changed module) for every change of the solution at path."""
    source = open(path, encoding="utf-8").read()
    for i in range(len(changes(ast.parse(source)))):
        tree = ast.parse(source)
        node, change = changes(tree)[i]
        before = ast.unparse(node)
        change(node)
        module = types.ModuleType("mutant")
        module.__file__ = path
        exec(compile(ast.fix_missing_locations(tree), path, "exec"), module.__dict__)  # noqa: S102 -- our own solution
        yield f"line {node.lineno}: {before} -> {ast.unparse(node)}", module


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_an_exercise_as_shipped_fails_its_check_in_one_sentence_and_its_solution_passes(exercise):
    passes, sentence = verdict(exercise, exercise.path())
    assert not passes and sentence.startswith(f"{exercise.name}: " + SHIPPED_FAILS.format(name=exercise.name)), sentence
    assert sentence.count("\n") == 0 and sentence.endswith(".")
    passes, sentence = verdict(exercise, exercise.path(solution=True))
    assert passes, sentence


def test_the_checks_catch_at_least_85_percent_of_small_changes_to_the_solutions():
    caught, missed = {}, []
    for exercise in EXERCISES:
        results = [(what, verdict(exercise, exercise.path(True), limit=5, module=m)) for what, m in
                   mutants(exercise.path(True))]
        caught[exercise.name] = (sum(not passes for _, (passes, _) in results), len(results))
        missed += [f"{exercise.name} {what}" for what, (passes, _) in results if passes]
    total = sum(n for n, _ in caught.values()), sum(m for _, m in caught.values())
    print("caught / changes:", {name: f"{n}/{m}" for name, (n, m) in caught.items()}, "total", total)
    assert all(m > 0 for _, m in caught.values()), caught  # every solution has something to change
    assert total[0] >= 0.85 * total[1], f"{total[0]} of {total[1]} changes caught; these pass: {missed}"


def test_the_checker_names_the_learners_line_and_never_shows_its_own_traceback(tmp_path):
    softmax = next(e for e in EXERCISES if e.name == "softmax")
    cases = {"def softmax(x):\n    return x / undefined\n": "line 2, in softmax, raised NameError: name 'undefined'",
             "def softmax(x):\n    return (x - x.max()).sum()\n": "returned float32, not a NumPy array",
             "def softmax(x):\n    return x[..., :1]\n": "returned shape (1,); the project's gives (7,)",
             "import numpy as np\ndef softmax(x):\n    return np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)\n":
                 "x large logits [[1000, 1001, 999], [-1000, -1001, -999]] gives nan at (0, 0), where the project's",
             "def softmax(x)\n": "line 1, does not parse",
             "def soft_max(x):\n    return x\n": "has no function softmax",
             "def softmax(x):\n    while True:\n        pass\n": "did not return within 1 s"}
    for source, expected in cases.items():
        path = tmp_path / "softmax.py"
        path.write_text(source)
        passes, sentence = verdict(softmax, str(path), limit=1)
        assert not passes and expected in sentence and "Traceback" not in sentence, (source, sentence)


def test_python_m_exercises_lists_checks_one_and_refuses_an_unknown_name():
    listed = run_python("-m", "exercises")
    assert listed.returncode == 1 and "Traceback" not in listed.stderr, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:len(EXERCISES) + 1]]
    assert [(row[0], row[2], row[3], row[4]) for row in rows] == [
        (str(e.number), e.name, f"exercises/{e.name}.py", f"exercises/solutions/{e.name}.py") for e in EXERCISES]
    assert all(row[5:] == ["not", "written", "yet"] for row in rows), listed.stdout
    one = run_python("-m", "exercises", "check", "layer_norm")
    assert one.returncode == 1 and one.stdout.startswith("layer_norm: not written yet: exercises/layer_norm.py, line")
    assert one.stdout.count("\n") == 1, one.stdout
    solution = run_python("-m", "exercises", "check", "2", "--solution")
    assert solution.returncode == 0 and solution.stdout.startswith("layer_norm: passes ("), solution.stdout
    every = run_python("-m", "exercises", "check", "--solution")
    assert every.returncode == 0 and every.stdout.count(": passes (") == len(EXERCISES), every.stdout
    unknown = run_python("-m", "exercises", "check", "layernorm")
    assert unknown.returncode == 2 and unknown.stdout == "", unknown.stdout
    assert unknown.stderr == ("error: there is no exercise 'layernorm': did you mean layer_norm or "
                              "layer_norm_backward? python -m exercises lists them\n"), unknown.stderr
    misplaced = run_python("-m", "exercises", "gelu")
    assert misplaced.returncode == 2 and misplaced.stderr.endswith(
        "error: 'gelu' is not a command: python -m exercises check gelu\n"), misplaced.stderr


def test_every_exercise_and_solution_imports_only_numpy_the_standard_library_and_the_core():
    allowed = {"math", "dataclasses", "numpy", "attention", "mlp", "tensor_ops"}
    for exercise in EXERCISES:
        for path in (exercise.path(), exercise.path(True)):
            tree = ast.parse(open(path, encoding="utf-8").read())
            names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            assert names <= allowed, f"{os.path.relpath(path, ROOT)} imports {sorted(names - allowed)}"

