"""Download a model's files from the Hugging Face hub, once: a repository id -> a local folder.

Called by load.py when --model is a name rather than a folder. huggingface_hub keeps the files in
its cache (~/.cache/huggingface/hub, or $HF_HOME/hub). The cache is asked first, so a model that was
downloaded once starts without touching the network; HF_HUB_OFFLINE=1 and HF_ENDPOINT are honoured
as huggingface_hub documents them.

Only the files named here are requested, never a repository's pickle weights.
"""
import os
import sys

from huggingface_hub import hf_hub_download
from huggingface_hub.utils import (EntryNotFoundError, HfHubHTTPError, HFValidationError,
                                   LocalEntryNotFoundError, RepositoryNotFoundError)

from config import ModelError


def download(repo_id):
    """Fetch config.json, model.safetensors and the tokenizer; return the folder that holds them."""
    config_path = fetch(repo_id, "config.json")
    fetch(repo_id, "model.safetensors")
    try:
        fetch(repo_id, "tokenizer.json")
    except EntryNotFoundError:  # older repositories have only the two files it is built from
        fetch(repo_id, "vocab.json")
        fetch(repo_id, "merges.txt")
    return os.path.dirname(config_path)  # every file lands in the same snapshot folder


def fetch(repo_id, filename):
    try:
        try:
            return hf_hub_download(repo_id, filename, local_files_only=True)
        except LocalEntryNotFoundError:  # not in the cache yet
            print(f"downloading {filename} of {repo_id} from the Hugging Face hub (once: later runs use the cache)",
                  file=sys.stderr)
            return hf_hub_download(repo_id, filename)  # shows a progress bar on stderr
    except RepositoryNotFoundError as e:
        raise ModelError(f"the Hugging Face hub has no model named {repo_id} (or it is private); check the "
                         "name, or give --model a folder holding config.json and model.safetensors") from e
    except LocalEntryNotFoundError as e:
        raise ModelError(f"cannot download {repo_id}: the Hugging Face hub cannot be reached and {filename} "
                         "is not in the cache; connect once to download it, or give --model a folder "
                         "holding config.json, model.safetensors and tokenizer.json") from e
    except EntryNotFoundError:
        if filename == "tokenizer.json":
            raise  # download() falls back to vocab.json and merges.txt
        raise ModelError(f"the hub repository {repo_id} has no {filename}"
                         + (" (pickle weights are never loaded)" if filename == "model.safetensors" else "")) from None
    except HfHubHTTPError as e:
        raise ModelError(f"the Hugging Face hub refused {filename} of {repo_id}: {str(e).splitlines()[0]}") from e
    except HFValidationError as e:
        raise ModelError(f"{repo_id} is neither a folder nor a valid hub model name") from e
