"""GPT-2's hyper-parameters, read from a checkpoint's config.json.

Every other module takes a `Config`: n_layer blocks, each with n_head attention heads over a residual
stream of n_embd numbers per token, at most n_ctx tokens at once, a vocabulary of vocab_size tokens.
Checkpoints that need something this program does not compute are refused here, with the reason.
"""
import dataclasses
import json
import math
import os
from dataclasses import dataclass


DEFAULT_MODEL = "openai-community/gpt2"  # GPT-2 124M; load.py also knows it as "gpt2"


class ModelError(Exception):
    """A problem the user can fix (a wrong name, a broken file): main.py prints it as one sentence."""


def computed(x, what):
    """x, after checking that it holds numbers: weights that are finite can still be so large that float32
    arithmetic overflows, and one NaN would then make every number after it meaningless."""
    if not (math.isfinite(x.min()) and math.isfinite(x.max())):
        raise overflowed(what)
    return x


def overflowed(what):
    return ModelError(f"the model computed NaN or infinite values for {what}: its weights are finite but too "
                      "large for float32 arithmetic; the checkpoint is damaged or not a trained GPT-2")


@dataclass(frozen=True)
class Config:
    n_layer: int  # transformer blocks
    n_head: int  # attention heads per block
    n_embd: int  # width of the residual stream
    n_inner: int  # width of the MLP's hidden layer (4 * n_embd in every released GPT-2)
    n_ctx: int  # longest sequence: the number of learned positions
    vocab_size: int
    layer_norm_epsilon: float


# Far above every released GPT-2 (xl: 48 layers, 25 heads, 1600 wide, 1024 positions): a config beyond these
# is a mistake, and refusing it costs nothing, while believing it could allocate terabytes.
LARGEST = {"n_layer": 1000, "n_head": 1000, "n_embd": 100_000, "n_inner": 1_000_000, "n_ctx": 1_000_000,
           "vocab_size": 10_000_000}

# The tanh approximation of GELU, under the names transformers gives it.
GPT2_ACTIVATIONS = ("gelu_new", "gelu_pytorch_tanh")


def read_config(path) -> Config:
    """Read config.json and check that it describes a GPT-2 this program can run."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        n_embd = raw["n_embd"]
        config = Config(
            n_layer=raw["n_layer"],
            n_head=raw["n_head"],
            n_embd=n_embd,
            n_inner=raw.get("n_inner") or 4 * n_embd,
            n_ctx=raw.get("n_positions", raw.get("n_ctx")),
            vocab_size=raw["vocab_size"],
            layer_norm_epsilon=raw.get("layer_norm_epsilon", 1e-5),
        )
    except FileNotFoundError:
        raise ModelError(f"there is no config.json in {os.path.dirname(path) or '.'}") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:  # ValueError: JSON, or a 5000-digit number
        raise ModelError(f"cannot read {os.path.realpath(path)}: {(str(e).splitlines() or [type(e).__name__])[0]}; "
                         "fix or delete it (a hub model's file is then downloaded anew)") from None
    except (KeyError, TypeError, AttributeError) as e:
        raise ModelError(f"{path} is not a GPT-2 config: missing or malformed {e}") from e
    check_config(config, raw, path)
    return dataclasses.replace(config, layer_norm_epsilon=float(config.layer_norm_epsilon))


def check_config(config: Config, raw: dict, path) -> None:
    problems = []
    for name in ("n_layer", "n_head", "n_embd", "n_inner", "n_ctx", "vocab_size"):
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            problems.append(f"{name} must be a positive whole number, not {str(value)[:20]!r}")
        elif value > LARGEST[name]:  # refused before anything is allocated
            problems.append(f"{name} is {value}; no GPT-2 has more than {LARGEST[name]}")
    eps = config.layer_norm_epsilon
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 < eps < 1:  # NaN fails 0 < eps too
        problems.append(f"layer_norm_epsilon must be a small positive number, not {str(eps)[:20]!r}")
    if not problems and config.n_embd % config.n_head:
        problems.append(f"n_embd ({config.n_embd}) is not divisible by n_head ({config.n_head})")
    if raw.get("model_type", "gpt2") != "gpt2":
        problems.append(f"model_type is {raw['model_type']!r}, not 'gpt2'")
    activation = raw.get("activation_function", "gelu_new")
    if activation not in GPT2_ACTIVATIONS:
        problems.append(f"activation_function is {activation!r}; only GPT-2's tanh GELU is implemented")
    # Variants of attention that transformers can switch on but no released GPT-2 uses.
    if raw.get("scale_attn_weights", True) is not True:
        problems.append("scale_attn_weights is off; GPT-2 scales attention by 1/sqrt(d_head)")
    if raw.get("tie_word_embeddings", True) is not True:
        problems.append("tie_word_embeddings is off; GPT-2's output projection is its token embedding")
    for flag in ("scale_attn_by_inverse_layer_idx", "add_cross_attention"):
        if raw.get(flag, False):
            problems.append(f"{flag} is on; GPT-2 does not use it")
    if problems:
        raise ModelError(f"{path} describes a model this program cannot run: " + "; ".join(problems))
