"""Download a model's files from the Hugging Face hub, once: a repository id -> a local folder.

Called by load.py when --model is a name rather than a folder. huggingface_hub keeps the files in
its cache (~/.cache/huggingface/hub, or $HF_HOME/hub). The cache is read first, so a model that was
downloaded once starts without touching the network; HF_HUB_OFFLINE=1 and HF_ENDPOINT are honoured
as huggingface_hub documents them.

Before the first download the hub is asked once, without retries and for at most HF_HUB_ETAG_TIMEOUT
seconds (10 by default), whether it has the file: a hub that cannot be reached, answers with an error,
is too slow or is over its rate limit is then one sentence at once,
instead of huggingface_hub's half a minute of retries. What can still go wrong during a download (a
dropped or stalled connection, a full disk) is one sentence too.

A download cut short: huggingface_hub 2.x (what run.sh installs on Python 3.10 and later) writes each
download to a file of its own, deletes it if the download fails, and resumes nothing across runs. A
process killed outright (kill -9) cannot delete it, so such leftovers of earlier runs are removed
before a download starts (remove_stale_partial_files). huggingface_hub 1.x (what installs on Python
3.9) keeps one partial file per download and resumes it on the next run. Within a run, both resume a
broken transfer by themselves a few times (1.x only a stalled one); RetryNote says so in one line.

Two of huggingface_hub's defaults are changed, unless the environment sets them:
- HF_HUB_DISABLE_XET=1. The hub keeps large files in its Xet storage, and huggingface_hub fetches them
  with the hf_xet package (which comes with it). Its transfers (retries, stalls, partial files) are a
  program of their own that the stand-in hub of the tests cannot play, so this program asks for plain
  HTTPS, which serves the same bytes and is the path its tests run.
- HF_HUB_DISABLE_TELEMETRY=1. Otherwise huggingface_hub 2.x first asks the hub for a list of AI agents,
  to name one in its user agent: one more request, and up to 3 s more when the hub cannot be reached.

Only the files named here are requested, never a repository's pickle weights.
"""
import errno
import logging
import os
import re
import shutil
import sys
import time
from urllib.parse import urlparse

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # both read when huggingface_hub is imported, just below (see above)
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# huggingface_hub reads these as whole numbers when it is imported, and a value that is not one would stop every
# run, --help and a local folder included, with its traceback. Such a value is set aside here, and a run that
# needs the hub says what is wrong with it (settings_problem).
WRONG = {name: os.environ.pop(name) for name in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT")
         if name in os.environ and not re.fullmatch(r"\s*0*[1-9][0-9]{0,8}\s*", os.environ[name])}
from huggingface_hub import (constants, get_hf_file_metadata, hf_hub_download, hf_hub_url,  # noqa: E402
                             try_to_load_from_cache)
from huggingface_hub.errors import (HfHubHTTPError, HFValidationError, LocalEntryNotFoundError,  # noqa: E402
                                    RemoteEntryNotFoundError, RepositoryNotFoundError)
from huggingface_hub.utils import logging as hub_logging, tqdm  # noqa: E402

from config import ModelError
from plumbing.checkpoint import shards

STALE_SECONDS = 120  # a partial download untouched this long belongs to no running download
# huggingface_hub 2.x names a partial download <etag>.<8 hex digits>.incomplete, unique to the process that
# wrote it, and never resumes it. (1.x on Python 3.9 names it <etag>.incomplete and resumes it: left alone.)
ORPHAN = re.compile(r".+\.[0-9a-f]{8}\.incomplete")
hub_logging.set_verbosity_error()  # its retries are quiet: what finally went wrong is said once, below
RETRY_LOGS = [hub_logging.get_logger(name) for name in ("huggingface_hub.file_download", "huggingface_hub.utils._http")]
for log in RETRY_LOGS:  # except the first retry of a download, which RetryNote says in one line
    log.setLevel(logging.WARNING)
    log.propagate = False


def download(repo_id):
    """Fetch config.json, model.safetensors and the tokenizer; return the folder that holds them."""
    problem = settings_problem()
    if problem:
        raise ModelError(problem)
    config_path = fetch(repo_id, "config.json")
    if fetch(repo_id, "model.safetensors", optional=True) is None:  # large models: parts, and an index of them
        index = fetch(repo_id, "model.safetensors.index.json", optional=True) or missing(repo_id, "model.safetensors")
        for part in shards(index):
            fetch(repo_id, part)
    if fetch(repo_id, "tokenizer.json", optional=True) is None:  # older repositories: the two files it is built from
        fetch(repo_id, "vocab.json")
        fetch(repo_id, "merges.txt")
    return os.path.dirname(config_path)  # every file lands in the same snapshot folder


def fetch(repo_id, filename, optional=False):
    """The file's path in the cache, downloading it first if needed; None if optional and absent."""
    try:
        cached = try_to_load_from_cache(repo_id, filename)
    except HFValidationError:
        raise ModelError(f"{repo_id} is neither a folder nor a valid hub model name") from None
    if isinstance(cached, str):
        return cached
    if cached is not None:  # the cache remembers that the repository has no such file
        return missing(repo_id, filename, optional)
    size = check_hub(repo_id, filename)
    if size is not None:
        check_room(size, filename, repo_id)
        print(f"downloading {filename} of {repo_id} from the Hugging Face hub (once: later runs use the cache)",
              file=sys.stderr)
        remove_stale_partial_files(repo_id)
    note = RetryNote(filename, repo_id)
    for log in RETRY_LOGS:
        log.addHandler(note)
    try:
        return hf_hub_download(repo_id, filename)  # shows a progress bar when stderr is a terminal
    except RemoteEntryNotFoundError:  # asked even so: huggingface_hub then remembers the file's absence in its cache
        return missing(repo_id, filename, optional)
    except Exception as e:  # noqa: BLE001 -- the transport library's exceptions differ between versions
        raise ModelError(failure(e, repo_id, filename)) from None
    finally:
        for log in RETRY_LOGS:
            log.removeHandler(note)


def settings_problem():
    """What is wrong with the settings the hub's files need (environment variables), as a sentence; or None."""
    for name, value in WRONG.items():
        return f"{name} is {value[:40]!r}: it must be a whole number of seconds, 1 or more; fix or unset it"
    home = os.environ.get("HF_HOME")
    if home is not None and not home.strip():
        return "HF_HOME is set but empty: unset it (the cache is then ~/.cache/huggingface), or name a folder"
    if os.path.exists(constants.HF_HOME) and not os.path.isdir(constants.HF_HOME):
        return f"HF_HOME is {constants.HF_HOME}, which is not a folder: the Hugging Face cache goes in a folder"
    return None


class RetryNote(logging.Handler):
    """huggingface_hub tries a download again by itself, up to five times in a row, when the connection breaks
    (it resumes the transfer) or the hub answers 429 (it waits, as long as the hub asks), and logs a warning
    for each try: this says the first in one line, so that a user knows why the download waits."""

    def __init__(self, filename, repo_id):
        super().__init__()
        self.what, self.said = f"{filename} of {repo_id}", False

    def emit(self, record):
        message = record.getMessage()
        status = re.match(r"HTTP Error (\d+) thrown", message)
        if "resume" in message:
            note = (f"the connection to the Hugging Face hub broke while sending {self.what}; "
                    "huggingface_hub is resuming the download")
        elif status:
            note = (f"the Hugging Face hub answered {status[1]} when asked for {self.what}; "
                    "huggingface_hub waits and asks again")
        else:
            return
        if not self.said:
            tqdm.write(note, file=sys.stderr)  # above the progress bar, if one is drawn
            self.said = True


def instead():
    """What to run where GPT-2 cannot be downloaded: the checkpoint this repository ships, the script that builds
    GPT-2's shapes, and what a folder of one's own must hold (the tokenizer as load.py accepts it)."""
    program = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shipped = os.path.relpath(os.path.join(program, "tests", "fixtures", "induction-gpt2"))
    builder = os.path.relpath(os.path.join(program, "scripts", "gpt2_shaped.py"))
    return (f"or run what is here: --model {shipped} (a small model this repository ships), or a checkpoint of "
            f"GPT-2's shapes that {builder} FOLDER builds; a folder of your own holds config.json, model.safetensors, "
            "and tokenizer.json or vocab.json with merges.txt")


def check_hub(repo_id, filename):
    """Ask the hub once, without retries, for the file's metadata: its size in bytes (0 if unknown), or None
    if the repository has no such file. Every other answer, or none, ends here as one sentence."""
    if constants.HF_HUB_OFFLINE:
        raise ModelError(f"cannot download {repo_id}: HF_HUB_OFFLINE is set and {filename} is not in the cache; "
                         f"unset it for one run, {instead()}")
    endpoint = urlparse(constants.ENDPOINT)
    if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
        raise ModelError(f"HF_ENDPOINT is {os.environ.get('HF_ENDPOINT', constants.ENDPOINT)!r}, not an http:// or "
                         "https:// address")
    try:
        metadata = get_hf_file_metadata(hf_hub_url(repo_id, filename), timeout=constants.HF_HUB_ETAG_TIMEOUT)
    except RemoteEntryNotFoundError:
        return None
    except Exception as e:  # noqa: BLE001
        raise ModelError(failure(e, repo_id, filename, asking=True)) from None
    return metadata.size or 0


def check_room(size, filename, repo_id):
    """Refuse before downloading a file that the cache's disk has no room for."""
    folder = os.path.abspath(constants.HF_HUB_CACHE)  # relative: from the current folder, as huggingface_hub reads it
    while not os.path.isdir(folder):  # the cache may not exist yet: ask its nearest parent
        folder = os.path.dirname(folder)
    free = shutil.disk_usage(folder).free
    if size > free:
        raise ModelError(f"no room for {filename} of {repo_id} in the Hugging Face cache {constants.HF_HUB_CACHE}: "
                         f"it needs {size / 1e6:.1f} MB and {free / 1e6:.1f} MB are free; make room, or set HF_HOME "
                         "to a folder with room")


def failure(e, repo_id, filename, asking=False):
    """One sentence for what went wrong while asking the hub for a file (asking) or downloading it."""
    name = type(e).__name__
    if isinstance(e, RepositoryNotFoundError):
        return (f"the Hugging Face hub has no model named {repo_id} (or it is private); check the name, {instead()}")
    if isinstance(e, LocalEntryNotFoundError) and isinstance(e.__cause__, Exception):
        return failure(e.__cause__, repo_id, filename, asking)  # huggingface_hub's wrapper around the real cause
    if isinstance(e, HfHubHTTPError) and getattr(e, "response", None) is not None:
        status = e.response.status_code
        advice = {429: "it limits how often one may download: wait a minute and run again"}.get(
            status, "the hub is having trouble: try again later" if status >= 500 else "check the name")
        return f"the Hugging Face hub answered {status} {e.response.reason_phrase} for {filename} of {repo_id}; {advice}"
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write {filename} of {repo_id} into the Hugging Face cache {constants.HF_HUB_CACHE}: "
                f"{e.strerror}; set HF_HOME to a folder you can write, with room for the model")
    if isinstance(e, OSError) and e.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ELOOP, errno.ENAMETOOLONG):
        return (f"cannot use {e.filename or 'a file'} in the Hugging Face folder (HF_HOME, {constants.HF_HOME}): "
                f"{e.strerror}; move what is in the way, or set HF_HOME to another folder")
    if "Connect" in name:  # refused, no route, no name, or no answer to the connection itself (ConnectTimeout)
        return (f"cannot download {repo_id}: the Hugging Face hub cannot be reached and {filename} is not in the "
                f"cache; connect once to download it, {instead()}")
    if "Timeout" in name and asking:
        return (f"the Hugging Face hub did not answer within {constants.HF_HUB_ETAG_TIMEOUT} s when asked for "
                f"{filename} of {repo_id}; try again later (HF_HUB_ETAG_TIMEOUT sets how long to wait)")
    if "Timeout" in name:
        return (f"the Hugging Face hub stopped sending {filename} of {repo_id} (no data for "
                f"{constants.HF_HUB_DOWNLOAD_TIMEOUT} s, several times); check the connection and run again")
    first_line = (str(e).splitlines() or [""])[0]
    return (f"the connection to the Hugging Face hub broke while fetching {filename} of {repo_id} ({name}: "
            f"{first_line}); run again")


def remove_stale_partial_files(repo_id):
    """Delete the partial downloads of this repository that no running download is writing, and that no
    later one can resume."""
    blobs = os.path.join(constants.HF_HUB_CACHE, "models--" + repo_id.replace("/", "--"), "blobs")
    if not os.path.isdir(blobs):
        return
    for name in os.listdir(blobs):
        path = os.path.join(blobs, name)
        try:
            if ORPHAN.fullmatch(name) and time.time() - os.path.getmtime(path) > STALE_SECONDS:
                os.remove(path)
        except OSError:  # removed meanwhile by the download that wrote it
            pass


def missing(repo_id, filename, optional=False):
    if optional:
        return None
    raise ModelError(f"the hub repository {repo_id} has no {filename}"
                     + (" (pickle weights are never loaded)" if filename == "model.safetensors" else ""))
