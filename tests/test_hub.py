"""The download path, end to end: main.py with the real huggingface_hub client and a stand-in hub."""
import fcntl
import os
import pty
import shutil
import signal
import subprocess
import struct
import sys
import termios
import time

import pytest

from checkpoints import booby_trapped_pickle
from conftest import ROOT, TINY, run_main
from fake_hub import FakeHub

DEFAULT_REPO = "openai-community/gpt2"


@pytest.fixture
def repo(tmp_path):
    """The tiny checkpoint as a hub repository, with pickle and TensorFlow weights beside it."""
    folder = tmp_path / "repo"
    shutil.copytree(TINY, folder)
    marker = tmp_path / "unpickled"
    (folder / "pytorch_model.bin").write_bytes(booby_trapped_pickle(marker))
    (folder / "tf_model.h5").write_bytes(b"not for us")
    (folder / "flax_model.msgpack").write_bytes(b"not for us")
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").write_bytes(b"not for us")
    return folder, marker


@pytest.fixture
def hub(repo):
    hub = FakeHub({DEFAULT_REPO: str(repo[0])})
    yield hub
    hub.stop()


def env_for(tmp_path, endpoint, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    return dict(env, HF_HOME=str(tmp_path / "hf-home"), HF_ENDPOINT=endpoint, **extra)


def run(*args, env, timeout=120):
    return run_main(*args, env=env, timeout=timeout)


def run_with_a_terminal_for_stderr(*args, env):
    """huggingface_hub draws its progress bars only on a terminal, as a user's would be: give it one."""
    terminal, child_end = pty.openpty()
    fcntl.ioctl(child_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns for the bar
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), *args], stdout=subprocess.PIPE,
                               stderr=child_end, env=env)
    os.close(child_end)
    stderr = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child has closed the terminal
            break
        if not chunk:
            break
        stderr += chunk
    os.close(terminal)
    stdout = process.stdout.read()
    process.wait(timeout=120)
    return process.returncode, stdout.decode(), stderr.decode(errors="replace")


def test_first_run_downloads_with_a_progress_bar_and_generates(tmp_path, hub):
    code, stdout, stderr = run_with_a_terminal_for_stderr("Hello", "-n", "5", env=env_for(tmp_path, hub.url))
    assert code == 0, stderr
    assert stdout.startswith("Hello") and len(stdout) > len("Hello\n")
    assert "model.safetensors" in stderr and "100%" in stderr  # the bar, filled


def test_only_config_safetensors_and_tokenizer_are_requested_and_no_pickle_is_loaded(tmp_path, hub, repo):
    run("Hello", "-n", "2", env=env_for(tmp_path, hub.url))
    assert hub.requested_files() - {""} == {"config.json", "model.safetensors", "tokenizer.json",
                                            "vocab.json", "merges.txt"}
    assert not repo[1].exists(), "a pickle was unpickled"


def test_second_run_works_from_the_cache_with_the_hub_stopped(tmp_path, hub):
    env = env_for(tmp_path, hub.url)
    first = run("Hello", "-n", "5", env=env)
    hub.stop()
    second = run("Hello", "-n", "5", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout and "downloading" not in second.stderr


def test_hf_hub_offline_is_honoured(tmp_path, hub):
    env = env_for(tmp_path, hub.url, HF_HUB_OFFLINE="1")
    result = run("Hello", env=env)
    assert result.returncode == 1 and "HF_HUB_OFFLINE is set" in result.stderr and "Traceback" not in result.stderr
    assert hub.requests == []
    run("Hello", "-n", "1", env=env_for(tmp_path, hub.url))  # fill the cache
    requests = len(hub.requests)
    result = run("Hello", "-n", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert len(hub.requests) == requests


def test_a_folder_needs_no_network(tmp_path, hub):
    result = run("Hello", "--model", TINY, "-n", "3", env=env_for(tmp_path, hub.url))
    assert result.returncode == 0, result.stderr
    assert hub.requests == []


def test_an_unknown_model_is_one_sentence(tmp_path, hub):
    result = run("Hello", "--model", "someone/no-such-model", env=env_for(tmp_path, hub.url))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: the Hugging Face hub has no model named someone/no-such-model")
    assert "Traceback" not in result.stderr


def test_a_repository_without_safetensors_is_refused(tmp_path, hub, repo):
    os.remove(repo[0] / "model.safetensors")
    result = run("Hello", env=env_for(tmp_path, hub.url))
    assert result.returncode == 1 and not repo[1].exists()
    assert result.stderr.splitlines()[-1] == (f"error: the hub repository {DEFAULT_REPO} has no model.safetensors "
                                              "(pickle weights are never loaded)")


def test_an_unreachable_hub_without_cache_says_what_to_do(tmp_path):
    """huggingface_hub retries a refused connection for about 20 seconds before giving up."""
    hub = FakeHub({})
    endpoint = hub.url
    hub.stop()  # nothing listens there any more
    result = run("Hello", env=env_for(tmp_path, endpoint))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: cannot download {DEFAULT_REPO}: the Hugging Face hub cannot be reached and config.json is not "
        "in the cache; connect once to download it, or give --model a folder holding config.json, "
        "model.safetensors and tokenizer.json")


def start_slow_download(tmp_path, repo_folder):
    """main.py downloading from a hub that sends model.safetensors slowly; returns once it is half-way."""
    hub = FakeHub({DEFAULT_REPO: str(repo_folder)}, seconds_per_chunk=0.05)
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "Hello", "-n", "3"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env_for(tmp_path, hub.url))
    deadline = time.monotonic() + 60
    while hub.bytes_sent.get("model.safetensors", 0) < 1_000_000 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the download finished before it could be interrupted"
    return hub, process


@pytest.mark.parametrize("how", ["ctrl-c", "kill -9"])
def test_an_interrupted_download_does_not_poison_the_cache(tmp_path, repo, how):
    hub, process = start_slow_download(tmp_path, repo[0])
    process.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    hub.stop()
    if how == "ctrl-c":
        assert process.returncode == 130 and "Traceback" not in stderr and stderr.endswith("interrupted\n")
    hub = FakeHub({DEFAULT_REPO: str(repo[0])})
    try:
        result = run("Hello", "-n", "3", env=env_for(tmp_path, hub.url))
    finally:
        hub.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout == run("Hello", "--model", TINY, "-n", "3", env=env_for(tmp_path, hub.url)).stdout
