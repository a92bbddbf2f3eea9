"""The download path, end to end: main.py with the real huggingface_hub client and a stand-in hub."""
import fcntl
import os
import pty
import shutil
import signal
import socket
import subprocess
import struct
import sys
import termios
import time

import huggingface_hub
import pytest

from checkpoints import booby_trapped_pickle, save_pretrained_layout, sharded, tiny_tensors
from conftest import ROOT, TINY, run_main
from fake_hub import FakeHub, client_env
from plumbing.hub import ORPHAN

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
    return client_env(tmp_path / "hf-home", endpoint, **extra)


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
    run_main("Hello", "-n", "2", env=env_for(tmp_path, hub.url))
    # nothing else: not the Xet service, nor huggingface_hub's list of AI agents (see plumbing/hub.py)
    assert hub.requested_files() == {"config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt"}
    assert not repo[1].exists(), "a pickle was unpickled"


def test_second_run_works_from_the_cache_with_the_hub_stopped(tmp_path, hub):
    env = env_for(tmp_path, hub.url)
    first = run_main("Hello", "-n", "5", env=env)
    hub.stop()
    second = run_main("Hello", "-n", "5", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout and "downloading" not in second.stderr


def test_hf_hub_offline_is_honoured(tmp_path, hub):
    env = env_for(tmp_path, hub.url, HF_HUB_OFFLINE="1")
    result = run_main("Hello", env=env)
    assert result.returncode == 1 and "HF_HUB_OFFLINE is set" in result.stderr and "Traceback" not in result.stderr
    assert hub.requests == []
    run_main("Hello", "-n", "1", env=env_for(tmp_path, hub.url))  # fill the cache
    requests = len(hub.requests)
    result = run_main("Hello", "-n", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert len(hub.requests) == requests


def test_a_folder_needs_no_network(tmp_path, hub):
    result = run_main("Hello", "--model", TINY, "-n", "3", env=env_for(tmp_path, hub.url))
    assert result.returncode == 0, result.stderr
    assert hub.requests == []


def test_an_unknown_model_is_one_sentence(tmp_path, hub):
    result = run_main("Hello", "--model", "someone/no-such-model", env=env_for(tmp_path, hub.url))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: the Hugging Face hub has no model named someone/no-such-model")
    assert "Traceback" not in result.stderr


def test_a_repository_without_safetensors_is_refused(tmp_path, hub, repo):
    os.remove(repo[0] / "model.safetensors")
    result = run_main("Hello", env=env_for(tmp_path, hub.url))
    assert result.returncode == 1 and not repo[1].exists()
    assert result.stderr.splitlines()[-1] == (f"error: the hub repository {DEFAULT_REPO} has no model.safetensors "
                                              "(pickle weights are never loaded)")


def test_an_unreachable_hub_without_cache_says_what_to_do_at_once(tmp_path):
    """The hub is asked once, without huggingface_hub's retries (which took 24 s and 13 lines of messages)."""
    hub = FakeHub({})
    endpoint = hub.url
    hub.stop()  # nothing listens there any more
    result = run_main("Hello", env=env_for(tmp_path, endpoint), cwd=ROOT)
    assert result.returncode == 1  # and no line of huggingface_hub's retries (scripts/benchmark.py times it)
    assert result.stderr == (
        f"error: cannot download {DEFAULT_REPO}: the Hugging Face hub cannot be reached and config.json is not "
        "in the cache; connect once to download it, " + INSTEAD + "\n")


INSTEAD = ("or run what is here: --model tests/fixtures/induction-gpt2 (a small model this repository ships), or a "
           "checkpoint of GPT-2's shapes that scripts/gpt2_shaped.py FOLDER builds; a folder of your own holds "
           "config.json, model.safetensors, and tokenizer.json or vocab.json with merges.txt")


def test_the_first_run_offline_names_what_to_run_instead_and_it_runs(tmp_path, hub):
    """The first run without a network is the first thing a new user sees: the sentence names the checkpoint the
    repository ships, which then runs, and the script that builds GPT-2's shapes, from wherever main.py is run."""
    said = run_main("Hello", env=env_for(tmp_path, hub.url, HF_HUB_OFFLINE="1"), cwd=ROOT).stderr
    assert said.endswith("is not in the cache; unset it for one run, " + INSTEAD + "\n") and len(said.splitlines()) == 1
    assert run_main("Hello", "-n", "2", "--model", "tests/fixtures/induction-gpt2", cwd=ROOT).returncode == 0
    assert os.path.isfile(os.path.join(ROOT, "scripts", "gpt2_shaped.py"))
    elsewhere = run_main("Hello", env=env_for(tmp_path, hub.url, HF_HUB_OFFLINE="1"), cwd=tmp_path).stderr
    shipped = elsewhere.split("--model ")[1].split(" ")[0]
    assert os.path.isfile(os.path.join(tmp_path, shipped, "config.json"))


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


def partial_files(tmp_path):
    """Partial downloads that nothing will ever resume: huggingface_hub 2.x writes one per process,
    <etag>.<8 hex digits>.incomplete. (1.x keeps <etag>.incomplete and resumes it on the next run.)"""
    return [name for _, _, files in os.walk(tmp_path) for name in files if ORPHAN.fullmatch(name)]


def resumable(tmp_path):
    """huggingface_hub 1.x's partial downloads, which its next run resumes: {path: bytes}."""
    return {os.path.join(d, name): os.path.getsize(os.path.join(d, name)) for d, _, files in os.walk(tmp_path)
            for name in files if name.endswith(".incomplete") and not ORPHAN.fullmatch(name)}


@pytest.mark.parametrize("how, code", [("ctrl-c", 130), ("kill -9", -9), ("kill", 143), ("closed terminal", 129)])
def test_an_interrupted_download_leaves_no_partial_file_and_the_next_run_completes(tmp_path, repo, how, code):
    hub, process = start_slow_download(tmp_path, repo[0])
    signum = {"ctrl-c": signal.SIGINT, "kill -9": signal.SIGKILL, "kill": signal.SIGTERM, "closed terminal": signal.SIGHUP}[how]
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    hub.stop()
    assert process.returncode == code and "Traceback" not in stderr
    if how == "ctrl-c":
        assert stderr.endswith("interrupted\n")
    assert bool(partial_files(tmp_path)) == (how == "kill -9" and not resumable(tmp_path)), \
        "only a process killed outright cannot clean up"
    kept = sum(resumable(tmp_path).values())
    for name in partial_files(tmp_path):  # as if the kill had happened some minutes ago
        path = next(os.path.join(d, name) for d, _, files in os.walk(tmp_path / "hf-home") if name in files)
        os.utime(path, (time.time() - 600, time.time() - 600))
    hub = FakeHub({DEFAULT_REPO: str(repo[0])})
    try:
        result = run_main("Hello", "-n", "3", env=env_for(tmp_path, hub.url))
    finally:
        hub.stop()
    assert result.returncode == 0, result.stderr
    assert partial_files(tmp_path) == [], "the next run removes what a killed one left"
    # huggingface_hub 2.x does not resume across runs: the whole file is fetched again (README says so);
    # 1.x fetches only what its partial file lacks.
    assert hub.bytes_sent["model.safetensors"] == os.path.getsize(repo[0] / "model.safetensors") - kept
    assert result.stdout == run_main("Hello", "--model", TINY, "-n", "3", env=env_for(tmp_path, hub.url)).stdout



RESUMING = "the connection to the Hugging Face hub broke while sending model.safetensors of openai-community/gpt2; " \
           "huggingface_hub is resuming the download"


@pytest.mark.parametrize("fault, said", [
    ("status 500", ["the Hugging Face hub answered 500 Internal Server Error for config.json of openai-community/gpt2; "
                    "the hub is having trouble: try again later"]),
    ("status 503", ["answered 503 Service Unavailable"]),
    ("status 429", ["answered 429 Too Many Requests for config.json of openai-community/gpt2; it limits how often one "
                    "may download: wait a minute and run again"]),
    ("slow", ["the Hugging Face hub did not answer within 1 s when asked for config.json of openai-community/gpt2; "
              "try again later (HF_HUB_ETAG_TIMEOUT sets how long to wait)"]),
    ("drop", [RESUMING, "the connection to the Hugging Face hub broke while fetching model.safetensors of "
                        "openai-community/gpt2"]),
    ("stall", [RESUMING, "the Hugging Face hub stopped sending model.safetensors of openai-community/gpt2 (no data "
                         "for 1 s, several times); check the connection and run again"]),
    ("busy", ["the Hugging Face hub answered 429 when asked for model.safetensors of openai-community/gpt2; "
              "huggingface_hub waits and asks again",
              "the Hugging Face hub answered 429 Too Many Requests for model.safetensors of openai-community/gpt2; it "
              "limits how often one may download: wait a minute and run again"]),
])
def test_a_hub_that_misbehaves_is_one_sentence_at_once(tmp_path, repo, fault, said):
    """An answer to the first question is said at once. A broken transfer, or a download the hub refuses
    with 429, is tried again by huggingface_hub a few times first, which one line says while it waits
    (measured with 1 s time-outs: 6 s for "drop", 12 s for "stall", whose six tries of huggingface_hub's
    default 10 s would take a minute; "busy" 6 s, the hub's Retry-After asking for 0 s and huggingface_hub
    adding 1 s to each wait)."""
    if fault == "drop" and int(huggingface_hub.__version__.split(".")[0]) < 2:
        said = said[1:]  # huggingface_hub 1.x resumes a stalled transfer, but gives up on a dropped one at once
    hub = FakeHub({DEFAULT_REPO: str(repo[0])}, seconds_per_chunk=3.0 if fault == "slow" else 0.0, fault=fault)
    hub.stall_seconds = 3
    try:
        result = run_main("Hello", env=env_for(tmp_path, hub.url, HF_HUB_DOWNLOAD_TIMEOUT="1", HF_HUB_ETAG_TIMEOUT="1"))
    finally:
        hub.stop()
    lines = [line for line in result.stderr.splitlines() if not line.startswith("downloading ")]
    assert result.returncode == 1 and len(lines) == len(said), result.stderr
    assert lines[:-1] == said[:-1] and said[-1] in lines[-1] and lines[-1].startswith("error: "), result.stderr
    if fault.startswith("status") or fault == "slow":  # said at once: asked once, not tried again
        assert hub.requests == [("HEAD", DEFAULT_REPO, "config.json")], hub.requests
    else:  # huggingface_hub's few tries of the file, no more (measured: 6 for each, in 6 s to 12 s)
        assert sum(r == ("GET", DEFAULT_REPO, "model.safetensors") for r in hub.requests) <= 6, hub.requests
    assert partial_files(tmp_path) == []


def test_a_hub_whose_address_never_answers_is_unreachable_at_once(tmp_path):
    """As behind a firewall that drops packets: a listening socket whose queue, of one, is already full never
    completes another connection. huggingface_hub's own setting, HF_HUB_ETAG_TIMEOUT, bounds the wait."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    queued = socket.create_connection(server.getsockname())
    try:
        result = run_main("Hello", env=env_for(tmp_path, f"http://127.0.0.1:{server.getsockname()[1]}",
                                          HF_HUB_ETAG_TIMEOUT="1"))
    finally:
        queued.close()
        server.close()
    assert result.returncode == 1 and result.stderr.startswith(
        f"error: cannot download {DEFAULT_REPO}: the Hugging Face hub cannot be reached"), result.stderr
    assert len(result.stderr.splitlines()) == 1  # no retries said; the wait (HF_HUB_ETAG_TIMEOUT) is timed in scripts/benchmark.py


@pytest.mark.parametrize("endpoint", ["notaurl", "ftp://127.0.0.1", "http://"])
def test_a_malformed_endpoint_is_named_and_breaks_neither_help_nor_folders(tmp_path, endpoint):
    env = env_for(tmp_path, endpoint)
    result = run_main("Hello", env=env)
    assert result.returncode == 1 and result.stderr == f"error: HF_ENDPOINT is {endpoint!r}, not an http:// or https:// address\n"
    assert run_main("--help", env=env).returncode == 0
    folder = run_main("Hello", "-n", "2", "--model", TINY, env=env)
    assert folder.returncode == 0 and folder.stderr == ""


def test_a_path_that_is_not_a_folder_is_said_at_once_and_a_folder_never_shadows_a_hub_name(tmp_path, hub):
    (tmp_path / "models").mkdir()
    shutil.copytree(TINY, tmp_path / "gpt2")
    shutil.copytree(TINY, tmp_path / "openai-community" / "gpt2")
    env = env_for(tmp_path, hub.url)

    def run_here(*args):
        return run_main(*args, env=env, cwd=str(tmp_path))
    for path in ("models/my-gpt2", "./gpt3", "a/b/c", "/nowhere/gpt2", "gpt2-large/"):
        result = run_here("Hello", "--model", path)
        assert result.returncode == 1 and result.stderr == f"error: there is no folder {path}\n", result.stderr
    for name in ("gpt2", "openai-community/gpt2"):
        result = run_here("Hello", "--model", name)
        assert result.returncode == 1 and f"error: {name} is both a folder here and a model name on the hub" in result.stderr
        assert run_here("Hello", "-n", "2", "--model", "./" + name).returncode == 0
    assert hub.requests == [], "none of these asked the hub anything"


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB file system (tmpfs), which only root can mount: the tiny model's 3.3 MB do not fit."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root and mount)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_or_a_read_only_cache_is_one_sentence_naming_the_folder(tmp_path, hub, small_disk):
    env = dict(env_for(tmp_path, hub.url), HF_HOME=str(small_disk / "hf"))
    result = run_main("Hello", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"error: no room for model.safetensors of {DEFAULT_REPO} in the "
                                                     f"Hugging Face cache {small_disk}/hf/hub: it needs 3.3 MB and ")
    assert partial_files(small_disk) == []
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = run_main("Hello", env=dict(env, HF_HOME=str(small_disk / "other")))
    assert result.returncode == 1 and result.stderr.splitlines()[-1] == (
        f"error: cannot write config.json of {DEFAULT_REPO} into the Hugging Face cache {small_disk}/other/hub: "
        "Read-only file system; set HF_HOME to a folder you can write, with room for the model")


def test_a_sharded_repository_downloads_its_parts(tmp_path):
    folder = tmp_path / "repo"
    shutil.copytree(TINY, folder)
    os.remove(folder / "model.safetensors")
    sharded(str(folder), save_pretrained_layout(tiny_tensors()))
    hub = FakeHub({DEFAULT_REPO: str(folder)})
    try:
        result = run_main("Hello", "-n", "3", env=env_for(tmp_path, hub.url))
    finally:
        hub.stop()
    assert result.returncode == 0, result.stderr
    assert {f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)} <= hub.requested_files()
    assert result.stdout == run_main("Hello", "--model", TINY, "-n", "3").stdout


@pytest.mark.parametrize("filename", ["config.json", "vocab.json"])
def test_a_corrupt_file_in_the_cache_is_named_by_its_blob_and_deleting_it_fixes_it(tmp_path, hub, filename):
    env = env_for(tmp_path, hub.url)
    assert run_main("Hello", "-n", "2", env=env).returncode == 0
    snapshot = next(d for d, _, files in os.walk(tmp_path / "hf-home") if filename in files and "snapshots" in d)
    blob = os.path.realpath(os.path.join(snapshot, filename))
    with open(blob, "w") as f:
        f.write("{ not json")
    result = run_main("Hello", "-n", "2", env=env)
    assert result.returncode == 1 and blob in result.stderr and "delete it" in result.stderr, result.stderr
    os.remove(blob)  # what the message says to do
    again = run_main("Hello", "-n", "2", env=env)
    assert again.returncode == 0, again.stderr


# plumbing/hub.py reads two things of huggingface_hub's that are not its public interface: the wording of the log
# lines it writes while it retries a download (RetryNote: "resume", "HTTP Error N thrown") and the names of its
# partial files (ORPHAN). The tests above exercise both with the version installed; these are the versions they
# were checked with (the oldest allowed, the newest on Python 3.9, the newest). Another version: check them again.
CHECKED_WITH = ("1.2", "1.8", "2.4")


def test_the_private_details_hub_py_reads_were_checked_with_this_huggingface_hub():
    import huggingface_hub
    minor = ".".join(huggingface_hub.__version__.split(".")[:2])
    assert minor in CHECKED_WITH, f"huggingface_hub {huggingface_hub.__version__}: check RetryNote and ORPHAN again"
