"""Shared fixtures: the tiny GPT-2 checkpoint, its reference values, and a comparison that explains itself."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from load import load_model  # noqa: E402
from tokenizer import load_tokenizer  # noqa: E402

TINY = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2")
REFERENCE = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2-reference.npz")

# The largest difference to transformers measured on this checkpoint is 5.7e-6 (logits of size up to
# 20); the tolerance sits just above it. See the README, "How the tests know the logits are right".
LOGITS_ATOL = 1e-5
# The residual stream after each block (values of size up to about 10): measured 1.3e-6.
STATES_ATOL = 2e-6


def assert_close(actual, expected, atol, what):
    """Fail with the largest difference and its index, not just 'arrays differ'."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    diff = np.abs(actual.astype(np.float64) - expected)
    worst = np.unravel_index(np.argmax(diff), diff.shape)
    assert diff.max() <= atol, (f"{what}: largest difference {diff.max():.3g} at {tuple(map(int, worst))} "
                                f"(got {actual[worst]}, expected {expected[worst]}), tolerance {atol:g}")


def run_main(*args, **kwargs):
    """main.py run as a user runs it, in a process of its own: subprocess.run's result, as text."""
    options = {"capture_output": True, "text": True, "encoding": "utf-8", "errors": "replace", "timeout": 120, **kwargs}
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], **options)


@pytest.fixture(params=[None, 3], ids=["QUERY_ROWS", "QUERY_ROWS=3"])
def query_rows(request, monkeypatch):
    """The test as written, then again with attention.attend taking 3 queries at a time, so that the
    tiny model's short prompts run attend's loop over slices too (and the last, shorter slice)."""
    import attention
    if request.param:
        monkeypatch.setattr(attention, "QUERY_ROWS", request.param)


@pytest.fixture(scope="session")
def tiny():
    params, config = load_model(TINY)
    return params, config


@pytest.fixture(scope="session")
def tok():
    return load_tokenizer(TINY)


@pytest.fixture(scope="session")
def ref():
    with np.load(REFERENCE) as f:
        return dict(f)
