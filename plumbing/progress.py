"""A progress bar on stderr for long work (the patching grids, the report's logit lens): the tqdm that
huggingface_hub brings along.

It is drawn only on a terminal (not when stderr goes to a file or a pipe), and honours
HF_HUB_DISABLE_PROGRESS_BARS as huggingface_hub's own bars do. The bar is cleared when the work ends.
"""
import sys


def progress_bar(steps, what):
    """steps, iterated with a bar that names what is being computed."""
    from huggingface_hub.utils import tqdm  # here: a run without long work need not import huggingface_hub
    return tqdm(steps, desc=what, file=sys.stderr, leave=False, disable=None, unit="step")
