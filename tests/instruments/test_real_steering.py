"""The published activation-addition setting, on the real GPT-2-XL when its weights are on disk (Turner et al.
2023, "Steering GPT-2-XL by adding an activation vector": " Love" against " Hate", entering block 6, coefficient 5,
on "I hate you because"). The build machines cannot download the 6 GB of weights, so this skips there, saying
why; it runs when GPT2_XL_MODEL_DIR names the checkpoint's folder, or openai-community/gpt2-xl is in the Hugging
Face cache. It checks what can be checked without a published continuation: the steered continuation differs
from the plain one, and --json says how it was steered.
"""
import os

import pytest

from conftest import json_of, run_main


def cached(repo):
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    paths = [try_to_load_from_cache(repo, f) for f in ("config.json", "model.safetensors")]
    return os.path.dirname(paths[0]) if all(isinstance(p, str) for p in paths) else None


FOLDER = os.environ.get("GPT2_XL_MODEL_DIR") or cached("openai-community/gpt2-xl")
PUBLISHED = ["--steer", " Love", "--steer-against", " Hate", "--steer-at", "6", "--steer-coef", "5"]


@pytest.mark.skipif(FOLDER is None, reason="the real GPT-2-XL weights are not on disk (set GPT2_XL_MODEL_DIR, or "
                                           "run main.py --model gpt2-xl once with a network)")
def test_love_minus_hate_at_block_6_changes_what_gpt2_xl_says():
    command = ["I hate you because", "--model", FOLDER, "-n", "20", "--json"]
    plain = json_of(run_main(*command, timeout=1200))
    steered = json_of(run_main(*command, *PUBLISHED, timeout=1200))
    assert steered["steer"] == {"toward": " Love", "against": " Hate", "at": 6, "coef": 5.0, "positions": 1}
    assert steered["prompt_ids"] == plain["prompt_ids"] and steered["generated_ids"] != plain["generated_ids"]
