"""How an exercise is judged: the learner's file is imported (never copied), its function is run on inputs
the project's own function also gets, and the first difference becomes one sentence.

A check (checks.py) calls `compare` for each input, in the order a learner would want to hear of them: a
small ordinary input first, then the edge cases, then the whole model with the learner's piece in place.
The first `Wrong` it raises is the verdict. `verdict` turns everything else that can happen into a sentence
too: a file that does not import, a function that is missing, the learner's own exception (with the line of
their file it came from), a function that never returns.
"""
import contextlib
import importlib.util
import os
import signal
import sys
import traceback
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIME_LIMIT = 60  # seconds for one exercise's whole check: every check takes well under one


class Wrong(Exception):
    """What the learner's function got wrong, as one sentence."""


class TooLong(Exception):
    pass


def load(path):
    """The learner's file as a module, imported from where it is."""
    name = "exercise_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def function(module, name):
    """The function `name` of the learner's module, or Wrong saying it is missing."""
    found = getattr(module, name, None)
    if not callable(found):
        raise Wrong(f"{shown(module.__file__)} has no function {name}")
    return found


def compare(yours, expected, what, atol=1e-5, rtol=1e-5):
    """Wrong, unless `yours` is an array of expected's shape and dtype within atol + rtol * |expected| of it
    everywhere (an inf or nan must be where expected has the same). `what` names the call and its input."""
    if not isinstance(yours, np.ndarray):
        raise Wrong(f"{what} returned {type(yours).__name__}, not a NumPy array")
    if yours.shape != expected.shape:
        raise Wrong(f"{what} returned shape {yours.shape}; the project's gives {expected.shape}")
    if yours.dtype != expected.dtype:
        raise Wrong(f"{what} returned {yours.dtype}, not {expected.dtype} (a NumPy float64 constant such as np.pi "
                    "turns a float32 array into float64: write constants as Python floats)")
    y, e = yours.astype(np.float64), expected.astype(np.float64)
    same = (y == e) | (np.isnan(y) & np.isnan(e))  # equal infinities are no difference
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.nan_to_num(np.abs(y - e), nan=np.inf))
    excess = diff - (atol + rtol * np.abs(np.nan_to_num(e)))
    if (excess > 0).any():
        at = np.unravel_index(np.argmax(excess), excess.shape)
        if not np.isfinite(y[at]):
            raise Wrong(f"{what} gives {y[at]} at {tuple(map(int, at))}, where the project's gives {e[at]:.6g}")
        raise Wrong(f"{what} differs from the project's by {diff[at]:.3g} at {tuple(map(int, at))} (yours "
                    f"{y[at]:.6g}, the project's {e[at]:.6g}; tolerance {atol + rtol * abs(np.nan_to_num(e[at])):.2g})")


def compare_list(yours, expected, what):
    """Wrong, unless `yours` is a list equal to expected; the first place they part is named."""
    if not isinstance(yours, list):
        raise Wrong(f"{what} returned {type(yours).__name__}, not a list")
    for i, (a, b) in enumerate(zip(yours, expected)):
        if a != b:
            raise Wrong(f"{what}: item {i} is {a!r}; the project's is {b!r}")
    if len(yours) != len(expected):
        raise Wrong(f"{what} returned {len(yours)} items; the project's {len(expected)}")


def shown(path):
    """A path as the learner would type it: from the project folder."""
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


@contextlib.contextmanager
def time_limit(seconds):
    """TooLong after `seconds`, so that a loop that never ends is a verdict, not a hang (the main thread only)."""
    def ring(*_):
        raise TooLong
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def verdict(exercise, path, limit=TIME_LIMIT, module=None):
    """(passes, one sentence) for the file at path: its function run through exercise.check. module: the
    file already imported (the mutation test passes one it made from changed source)."""
    try:
        with time_limit(limit), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an overflow's warning would be a second message: the sentence says it
            return True, f"{exercise.name}: passes ({exercise.check(module or load(path))})"
    except Wrong as e:
        return False, f"{exercise.name}: {e}."
    except TooLong:
        return False, f"{exercise.name}: {shown(path)} did not return within {limit} s (a loop that never ends?)."
    except Exception as e:  # noqa: BLE001 -- whatever the learner's code raised is the answer, in one sentence
        return False, f"{exercise.name}: {raised(e, path)}."


def raised(e, path):
    """The learner's exception as a sentence: what it is and the line of their file it came from."""
    message = " ".join(str(e).split())[:300]
    if isinstance(e, SyntaxError) and e.filename == path:
        return f"{shown(path)}, line {e.lineno}, does not parse: {e.msg}"
    lines = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == path]
    if not lines:
        return f"the check could not use what {shown(path)} returned: {type(e).__name__}: {message}"
    line = lines[-1]
    if isinstance(e, NotImplementedError):
        return f"not written yet: {shown(path)}, line {line.lineno}, raises NotImplementedError ({message})"
    return f"{shown(path)}, line {line.lineno}, in {line.name}, raised {type(e).__name__}: {message}"


def project_on_path():
    """The core modules import as the learner's files do, from the project folder, wherever this runs from."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
