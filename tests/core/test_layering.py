"""Imports run one way: main.py above everything; lessons/ and instruments/ use the core and never the reverse;
plumbing/ imports nothing above it (only config.py's errors and defaults, the standard library and the runtime
packages); exercises/ uses the rest
and nothing uses it. Read from each file's import statements, so a new one that breaks the rule fails here."""
import ast
import glob
import importlib.util
import os
import sysconfig

from conftest import ROOT

CORE = {"generate", "model", "layer", "attention", "mlp", "tensor_ops", "load", "config", "tokenizer", "params"}


def imported(path):
    """The first component of every module the file imports (relative imports never occur here)."""
    return imported_by([ast.parse(open(path, encoding="utf-8").read())])


def imported_by(nodes):
    names = set()
    for node in (n for top in nodes for n in ast.walk(top)):
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


def test_lessons_import_only_the_core_numpy_and_the_standard_library_at_the_top_of_the_file():
    """load.py reads files and the network: a lesson is computation only. Its __main__ demo may load a model."""
    stdlib = sysconfig.get_paths()["stdlib"]
    for path in files("lessons"):
        tree = ast.parse(open(path, encoding="utf-8").read())
        demo = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
        top = imported_by([n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))])
        assert imported_by(tree.body) == top | imported_by(demo), f"{os.path.relpath(path, ROOT)} imports inside code"
        for name in top - (CORE - {"load"}) - {"numpy"}:
            origin = importlib.util.find_spec(name).origin  # the standard library's: frozen, built in, or in stdlib
            assert origin in ("frozen", "built-in") or (origin or "").startswith(stdlib), \
                f"{os.path.relpath(path, ROOT)} imports {name}"


def test_nothing_imports_the_exercises():
    every = [os.path.join(ROOT, f"{name}.py") for name in CORE | {"main"}]
    for path in every + files("lessons") + files("instruments") + files("plumbing"):
        assert "exercises" not in imported(path), os.path.relpath(path, ROOT)
