"""What an interrupted download costs: the bytes fetched again by the next run, with the stand-in hub.

    .venv/bin/python scripts/interrupted_download.py [--megabytes 100]

A repository whose model.safetensors is that many megabytes of random bytes is served by the tests'
stand-in hub (tests/fake_hub.py). main.py starts downloading it, is stopped half-way by kill -9, by
kill, or by Ctrl-C, and a second run downloads it again. Printed per signal: what had been sent, what
partial file was left, and what the second run fetched. The second run then fails to load the random
bytes, which does not matter here. Run it with each huggingface_hub whose behaviour you want to know:
the answer depends on its version (README, "When something goes wrong").
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import huggingface_hub  # noqa: E402
from fake_hub import FakeHub, client_env  # noqa: E402

REPO = "openai-community/gpt2"


def partial_bytes(home):
    return sum(os.path.getsize(os.path.join(d, name)) for d, _, names in os.walk(home)
               for name in names if name.endswith(".incomplete"))


def interrupt_and_retry(repo_folder, size, signum):
    """(bytes sent before the signal, bytes of partial files left, bytes the next run fetched)."""
    home = tempfile.mkdtemp()
    hub = FakeHub({REPO: repo_folder}, seconds_per_chunk=0.002)  # about 30 MB/s: slow enough to stop half-way
    run = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "Hello"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=client_env(home, hub.url))
    while hub.bytes_sent.get("model.safetensors", 0) < size // 2:
        time.sleep(0.01)
    run.send_signal(signum)
    run.wait()
    hub.stop()
    sent, kept = hub.bytes_sent["model.safetensors"], partial_bytes(home)
    for folder, _, names in os.walk(home):  # as if the interruption had happened minutes ago
        for name in names:
            if name.endswith(".incomplete"):
                os.utime(os.path.join(folder, name), (0, 0))
    hub = FakeHub({REPO: repo_folder})
    subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "Hello"], capture_output=True,
                   env=client_env(home, hub.url))
    hub.stop()
    shutil.rmtree(home)
    return sent, kept, hub.bytes_sent.get("model.safetensors", 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    size = parser.parse_args().megabytes * 1_000_000
    repo_folder = os.path.join(tempfile.mkdtemp(), "repo")
    shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2"), repo_folder)
    with open(os.path.join(repo_folder, "model.safetensors"), "wb") as f:
        f.write(os.urandom(size))
    print(f"huggingface_hub {huggingface_hub.__version__}, Python {sys.version.split()[0]}, "
          f"model.safetensors of {size / 1e6:.0f} MB")
    for how, signum in [("kill -9", signal.SIGKILL), ("kill", signal.SIGTERM), ("Ctrl-C", signal.SIGINT)]:
        sent, kept, again = interrupt_and_retry(repo_folder, size, signum)
        print(f"  {how:8} after {sent / 1e6:5.1f} MB: partial file {kept / 1e6:5.1f} MB, "
              f"next run fetched {again / 1e6:5.1f} MB")
    shutil.rmtree(os.path.dirname(repo_folder))


if __name__ == "__main__":
    main()
