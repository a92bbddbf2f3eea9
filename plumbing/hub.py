"""Download a model's files from the Hugging Face hub, once: a repository id -> a local folder.

Called by load.py when --model is a name rather than a folder. huggingface_hub keeps the files in
its cache (~/.cache/huggingface/hub, or $HF_HOME/hub). The cache is read first, so a model that was
downloaded once starts without touching the network; HF_HUB_OFFLINE=1 and HF_ENDPOINT are honoured
as huggingface_hub documents them. A download cut short leaves only an .incomplete file, which the
next run resumes.

Only the files named here are requested, never a repository's pickle weights.
"""
import os
import sys

from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
from huggingface_hub.utils import (EntryNotFoundError, HfHubHTTPError, HFValidationError,
                                   LocalEntryNotFoundError, RepositoryNotFoundError)

from config import ModelError


def download(repo_id):
    """Fetch config.json, model.safetensors and the tokenizer; return the folder that holds them."""
    config_path = fetch(repo_id, "config.json")
    fetch(repo_id, "model.safetensors")
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
    print(f"downloading {filename} of {repo_id} from the Hugging Face hub (once: later runs use the cache)",
          file=sys.stderr)
    try:
        return hf_hub_download(repo_id, filename)  # shows a progress bar when stderr is a terminal
    except RepositoryNotFoundError:
        raise ModelError(f"the Hugging Face hub has no model named {repo_id} (or it is private); check the "
                         "name, or give --model a folder holding config.json and model.safetensors") from None
    except LocalEntryNotFoundError:
        why = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the Hugging Face hub cannot be reached"
        raise ModelError(f"cannot download {repo_id}: {why} and {filename} is not in the cache; connect once to "
                         "download it, or give --model a folder holding config.json, model.safetensors and "
                         "tokenizer.json") from None
    except EntryNotFoundError:
        return missing(repo_id, filename, optional)
    except HfHubHTTPError as e:
        raise ModelError(f"the Hugging Face hub refused {filename} of {repo_id}: {str(e).splitlines()[0]}") from None


def missing(repo_id, filename, optional):
    if optional:
        return None
    raise ModelError(f"the hub repository {repo_id} has no {filename}"
                     + (" (pickle weights are never loaded)" if filename == "model.safetensors" else ""))
