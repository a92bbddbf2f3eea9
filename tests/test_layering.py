"""Imports run one way: main.py above everything; lessons/ and instruments/ use the core and never the reverse;
plumbing/ imports nothing above it (only config.py's errors and defaults, the standard library and the runtime
packages); exercises/ uses the rest and nothing uses it. Read from each file's import statements, so a new one that breaks the rule fails here."""
import ast
import glob
import os

from conftest import ROOT

CORE = {"generate", "model", "layer", "attention", "mlp", "tensor_ops", "load", "config", "tokenizer", "params"}


def imported(path):
    """The first component of every module the file imports (relative imports never occur here)."""
    names = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def files(folder):
    return glob.glob(os.path.join(ROOT, folder, "**", "*.py"), recursive=True)


def test_plumbing_imports_nothing_above_it():
    for path in files("plumbing"):
        above = imported(path) & ({"main", "instruments", "lessons"} | CORE - {"config"})
        assert not above, f"{os.path.relpath(path, ROOT)} imports {sorted(above)}"


def test_the_core_imports_no_lesson_and_no_instrument():
    for name in CORE:
        above = imported(os.path.join(ROOT, f"{name}.py")) & {"main", "instruments", "lessons"}
        assert not above, f"{name}.py imports {sorted(above)}"


def test_lessons_import_no_instrument():
    for path in files("lessons"):
        assert not imported(path) & {"main", "instruments"}, os.path.relpath(path, ROOT)


def test_nothing_imports_the_exercises():
    every = [os.path.join(ROOT, f"{name}.py") for name in CORE | {"main"}]
    for path in every + files("lessons") + files("instruments") + files("plumbing"):
        assert "exercises" not in imported(path), os.path.relpath(path, ROOT)
