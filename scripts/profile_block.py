"""Where a forward pass spends its time: each step of one block, timed alone, at three prompt lengths.

Run it on a checkpoint with GPT-2 124M's shapes (scripts/benchmark.py builds one):
    .venv/bin/python scripts/profile_block.py /tmp/numpy-gpt2-benchmark-small
It prints, per prompt length, the whole forward pass (last position only, as generation runs it) and
the median time of each step of block 0, largest first. The steps are the core's own functions, so
one block's sum times n_layer comes close to the forward pass.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from attention import attend, causal_mask, merge_heads, qkv_heads  # noqa: E402
from benchmark import median_time  # noqa: E402  (scripts/benchmark.py, beside this file)
from load import load_model  # noqa: E402
from model import embed, forward  # noqa: E402
from tensor_ops import gelu, layer_norm, linear  # noqa: E402


def block_steps(ids, params, config):
    """{step: seconds} for block 0 on ids, each step given the inputs the block would give it."""
    p, eps = params.h[0], config.layer_norm_epsilon
    x, mask = embed(ids, params), causal_mask(len(ids))
    h = layer_norm(x, p.ln_1, eps)
    q, k, v = qkv_heads(h, p.attn, config)
    out = attend(q, k, v, mask)
    before_gelu = linear(h, p.mlp.c_fc)
    hidden = gelu(before_gelu)
    return {
        "ln_1 + ln_2": 2 * median_time(lambda: layer_norm(x, p.ln_1, eps)),
        "c_attn": median_time(lambda: qkv_heads(h, p.attn, config)),
        "attend (in slices)": median_time(lambda: attend(q, k, v, mask)),
        "merge_heads + c_proj": median_time(lambda: linear(merge_heads(out), p.attn.c_proj)),
        "c_fc": median_time(lambda: linear(h, p.mlp.c_fc)),
        "gelu": median_time(lambda: gelu(before_gelu)),
        "mlp c_proj": median_time(lambda: linear(hidden, p.mlp.c_proj)),
    }


def main(folder):
    params, config = load_model(folder)
    for n_seq in (32, 512, 992):
        ids = list(range(1000, 1000 + n_seq))
        total = median_time(lambda: forward(ids, params, config, last_only=True), 3)
        steps = block_steps(ids, params, config)
        block = sum(steps.values())
        print(f"{n_seq} tokens: forward {total * 1e3:.0f} ms; block 0 {block * 1e3:.1f} ms "
              f"(x {config.n_layer} = {block * config.n_layer * 1e3:.0f} ms)")
        for step, seconds in sorted(steps.items(), key=lambda item: -item[1]):
            print(f"  {step:<22} {seconds * 1e3:8.2f} ms  {seconds / block:6.1%}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/numpy-gpt2-benchmark-small")
