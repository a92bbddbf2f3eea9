"""Shared fixtures: the tiny GPT-2 checkpoint, its reference values, and a comparison that explains itself."""
import http.client
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

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


def run_tiny(*args, model=TINY, check=True, **kwargs):
    """run_main on a checkpoint (the tiny one unless said), which with check must succeed."""
    result = run_main(*args, "--model", model, **kwargs)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def slow_model(tmp_path_factory):
    """A GPT-2 with 1024 positions (random weights, tiny otherwise): hundreds of tokens or a long grid take seconds,
    long enough to watch a stream or to interrupt a run."""
    from checkpoints import random_checkpoint, write
    return write(tmp_path_factory.mktemp("slow"), *random_checkpoint(n_layer=2, n_head=2, n_embd=32, n_positions=1024))


def read_at_least(stream, n, timeout=60):
    """What a child process has written to stream (a pipe), once it is n bytes or more. Fails, never hangs, when
    the process closes it first or timeout seconds pass."""
    shown, deadline = b"", time.monotonic() + timeout
    while len(shown) < n:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no {n} bytes within {timeout} s, only {shown!r}"
        piece = os.read(stream.fileno(), 1000)
        assert piece, f"the stream ended after {shown!r}, before {n} bytes"
        shown += piece
    return shown


def json_of(result):
    """The --json object main.py printed: its standard output is that object alone (the text goes to stderr)."""
    return json.loads(result.stdout)


@pytest.fixture(params=[None, 3], ids=["QUERY_ROWS", "QUERY_ROWS=3"])
def query_rows(request, monkeypatch):
    """The test as written, then again with attention.attend taking 3 queries at a time, so that the
    tiny model's short prompts run attend's loop over slices too (and the last, shorter slice)."""
    import attention
    if request.param:
        monkeypatch.setattr(attention, "QUERY_ROWS", request.param)


GRADIENT_REFERENCE = np.load(os.path.join(ROOT, "tests", "fixtures", "gradient-reference.npz"))
GRADIENT_RANDOM_SHAPE = dict(n_layer=2, n_head=3, n_embd=24, n_positions=24, seed=11)  # as the reference scripts


@pytest.fixture(scope="session")
def gradient_models(tmp_path_factory):
    """The checkpoints of the gradient and edge references (tests/reference/make_gradient_fixtures.py and
    make_edge_fixtures.py): the tiny one, the induction model, and a random one of another shape, from its seed."""
    from checkpoints import random_checkpoint, write
    random = write(tmp_path_factory.mktemp("random"), *random_checkpoint(**GRADIENT_RANDOM_SHAPE))
    return {"tiny": TINY, "induction": os.path.join(ROOT, "tests", "fixtures", "induction-gpt2"), "random": random}


def gradient_runs(folder, name, metric):
    """(params, config, the clean run's probe, the corrupted run's, target, versus) of a case of the gradient
    reference, on the checkpoint in folder; versus is None for the probability ("prob"), the reference's for "diff"."""
    from instruments.probe import probe
    params, config = load_model(folder)
    ids, corrupted = GRADIENT_REFERENCE[f"{name}/ids"].tolist(), GRADIENT_REFERENCE[f"{name}/corrupted"].tolist()
    target = int(GRADIENT_REFERENCE[f"{name}/target"])
    versus = int(GRADIENT_REFERENCE[f"{name}/versus"]) if metric == "diff" else None
    return params, config, probe(ids, params, config), probe(corrupted, params, config), target, versus


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


# A real browser for the page's tests: Debian's chromium, driven by Selenium through its chromedriver.
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
CHROMEDRIVER = shutil.which("chromedriver")
os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium would otherwise report its use over the network
try:
    import selenium  # noqa: F401 -- only whether it is installed
    NO_BROWSER = None if CHROMIUM and CHROMEDRIVER else (
        "no Chromium with chromedriver (apt-get install chromium chromium-driver; .ci/run installs them)")
except ImportError:
    NO_BROWSER = "Selenium is not installed (it is in requirements-dev.txt)"
SCREENSHOTS = os.environ.get("NUMPY_GPT2_SCREENSHOTS")  # a folder: the README's screenshots are written there too


def chrome(zoom=1):
    """A headless Chromium under Selenium, its console kept, its pages at the browser's zoom (2: 200%, as a user
    sets it; Chromium keeps a zoom level as the power of 1.2 it is); the caller quits it."""
    import math
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1400", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if zoom != 1:
        options.add_experimental_option("prefs", {"partition": {"default_zoom_level": {"x": math.log(zoom) / math.log(1.2)}}})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def browser():
    if NO_BROWSER:
        pytest.skip(NO_BROWSER)
    driver = chrome()
    yield driver
    driver.quit()


class Served:
    """main.py --serve on a port the system picks (--port 0); request() speaks HTTP to it."""

    def __init__(self, model, *extra):
        self.process = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "--serve", "--model", model, "--port", "0", *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + self.process.stderr.read()
        self.port = int(match[1])
        self.console, self.said = [], threading.Condition()  # the server's stderr, line by line, as it comes
        self.reader = threading.Thread(target=self.read_console, daemon=True)
        self.reader.start()

    def read_console(self):
        for line in self.process.stderr:
            with self.said:
                self.console.append(line)
                self.said.notify_all()

    def wait_for(self, text, since=0, timeout=300):
        """The first line of the server's console, from line `since` on, that holds text: an event to wait for (the
        console says how each API request ended). The timeout is a last bound for a broken server, not a verdict."""
        with self.said:
            assert self.said.wait_for(lambda: any(text in line for line in self.console[since:]), timeout), \
                "".join(self.console[since:])
            return next(line for line in self.console[since:] if text in line)

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, headers, body text)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            connection.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode("utf-8")
        finally:
            connection.close()

    def run(self, options):
        status, _, text = self.request("POST", "/api/run", options)
        assert status == 200, text
        return json.loads(text)

    def stop(self, signum=signal.SIGINT):
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.reader.join(timeout=60)
        return self.process.returncode, "".join(self.console)


@pytest.fixture(scope="module")
def tiny_server():
    served = Served(TINY)
    yield served
    code, stderr = served.stop()
    assert code == 130 and "Traceback" not in stderr, stderr


@pytest.fixture(scope="module")
def induction_server():
    served = Served(os.path.join(ROOT, "tests", "fixtures", "induction-gpt2"))
    yield served
    served.stop()



