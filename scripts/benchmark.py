"""Benchmark: speed and memory of numpy-gpt2 on GPT-2-small shapes, offline, beside transformers.

    .venv/bin/python scripts/benchmark.py            # about 5 minutes on 2 cores
    .venv/bin/python scripts/benchmark.py --runs 3 --prompt-lengths 32

It builds a checkpoint with GPT-2 124M's exact shapes and random weights (no download; kept in a
temporary folder and reused), then reports medians over --runs runs of: load time, prefill time,
per-token decode time and tokens/s for the naive and the KV-cache paths, at each prompt length;
the peak resident memory of `main.py` generating (a separate process: Linux's VmHWM); and
the machine's memory bandwidth with the floor it implies for one decoded token (every weight is read
once per token: weight bytes / bandwidth).

When torch and transformers are importable it also times transformers' GPT2LMHeadModel.generate on
the same checkpoint (use_cache off and on, greedy), alternating with ours in the same loop so that
both see the same machine load, and prints the ratios. Random weights do not change the work done.
"""
import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from generate import generate  # noqa: E402
from lessons.kv_cache import cached_step  # noqa: E402
from config import read_config  # noqa: E402
from load import expected_shapes, load_model  # noqa: E402

GPT2_SMALL = {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024, "n_ctx": 1024, "vocab_size": 50257,
              "model_type": "gpt2", "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}
TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2")  # GPT-2's vocab.json and merges.txt


def build_checkpoint(folder):
    """GPT-2 124M's shapes, random weights at about GPT-2's scale, the hub's layout with its mask buffers."""
    from safetensors.numpy import save_file  # a test requirement: writing checkpoints is not the program's job
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    print(f"building a GPT-2-small-shaped checkpoint in {folder} ...", file=sys.stderr)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(GPT2_SMALL, f)
    rng = np.random.default_rng(0)
    shapes = expected_shapes(read_config(os.path.join(folder, "config.json")))
    tensors = {name: (0.02 * rng.standard_normal(shape, dtype=np.float32)) for name, shape in shapes.items()}
    mask = np.tril(np.ones((1024, 1024), np.float32))[None, None]
    tensors.update({f"h.{i}.attn.bias": mask for i in range(GPT2_SMALL["n_layer"])})
    save_file(tensors, os.path.join(folder, "model.safetensors"))
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(TOKENIZER, name), folder)
    return folder


def median_time(f, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bandwidth(runs=9):
    """Bytes per second the machine reads, as a matrix-vector product does: the median of runs."""
    a = np.ones(((1 << 28) // 4096, 4096), np.float32)  # 1 GiB, far larger than any cache
    v = np.ones(4096, np.float32)
    a @ v
    return a.nbytes / median_time(lambda: a @ v, runs)


def time_ours(ids, params, config, new_tokens, kv_cache):
    """(prefill seconds, seconds per further token, total seconds) of one generation."""
    start = time.perf_counter()
    step = cached_step(params, config, len(ids) + new_tokens) if kv_cache else None
    stamps = [time.perf_counter() for _ in generate(ids, params, config, new_tokens, next_logits=step)]
    return stamps[0] - start, (stamps[-1] - stamps[0]) / (len(stamps) - 1), stamps[-1] - start


def load_transformers(folder):
    try:
        import torch
        import transformers
        from transformers import GPT2LMHeadModel
    except ImportError:
        return None
    transformers.logging.set_verbosity_error()
    model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    return torch, model


def time_transformers(hf, ids, new_tokens, use_cache):
    torch, model = hf
    with torch.inference_mode():
        start = time.perf_counter()
        out = model.generate(torch.tensor([ids]), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                             do_sample=False, use_cache=use_cache, pad_token_id=0)
        seconds = time.perf_counter() - start
    assert out.shape[1] == len(ids) + new_tokens
    return seconds


PEAK_RSS = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
with open("/proc/self/status") as f:  # VmHWM: the peak of this program alone (ru_maxrss would count
    print(next(line.split()[1] for line in f if line.startswith("VmHWM")), file=sys.stderr)  # the fork)
"""


def peak_rss(folder, words, new_tokens, kv_cache):
    """Peak resident memory (bytes) of main.py generating, in a process of its own (Linux)."""
    args = [sys.executable, "-c", PEAK_RSS, os.path.join(ROOT, "main.py"), "hello" + " hello" * (words - 1),
            "--model", folder, "-n", str(new_tokens)] + (["--kv-cache"] if kv_cache else [])
    result = subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(result.stderr.split()[-1]) * 1024  # VmHWM is in KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--prompt-lengths", type=int, nargs="+", default=[32, 512])
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "numpy-gpt2-benchmark-small"))
    parser.add_argument("--no-transformers", action="store_true", help="measure numpy-gpt2 alone")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    args = parser.parse_args()
    folder = build_checkpoint(args.folder)
    n = args.new_tokens
    results = {"machine": machine(), "runs": args.runs, "new_tokens": n}

    # Memory first, in child processes, before this process holds anything large.
    rss = {kv: peak_rss(folder, 32, n, kv) for kv in (False, True)}

    load_seconds = median_time(lambda: load_model(folder), args.runs)
    params, config = load_model(folder)
    weight_bytes = 4 * sum(math.prod(shape) for shape in expected_shapes(config).values())  # float32
    read_per_token = weight_bytes - params.wpe.nbytes  # one row of wpe is read, all else once
    bw = bandwidth()
    results.update(load_seconds=load_seconds, weight_bytes=weight_bytes, bandwidth=bw,
                   floor_seconds_per_token=read_per_token / bw,
                   peak_rss={"naive": rss[False], "kv_cache": rss[True]})
    hf = None if args.no_transformers else load_transformers(folder)
    results["transformers"] = None if hf is None else f"torch {hf[0].__version__}, threads {hf[0].get_num_threads()}"

    rng = np.random.default_rng(0)
    for length in args.prompt_lengths:
        ids = [int(i) for i in rng.integers(0, 50000, length)]
        time_ours(ids[:8], params, config, 2, True)  # warm up BLAS and the allocator
        rows = {"naive": [], "kv_cache": [], "hf_no_cache": [], "hf_cache": []}
        for _ in range(args.runs):  # alternate, so a slow moment of the machine hits every path
            rows["naive"].append(time_ours(ids, params, config, n, kv_cache=False))
            if hf:
                rows["hf_no_cache"].append(time_transformers(hf, ids, n, use_cache=False))
            rows["kv_cache"].append(time_ours(ids, params, config, n, kv_cache=True))
            if hf:
                rows["hf_cache"].append(time_transformers(hf, ids, n, use_cache=True))
        results[f"prompt_{length}"] = summarise(rows, n)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def summarise(rows, n):
    out = {}
    for path in ("naive", "kv_cache"):
        prefill, per_token, total = (statistics.median(r[i] for r in rows[path]) for i in range(3))
        out[path] = {"prefill_s": prefill, "decode_s_per_token": per_token, "tokens_per_s": n / total}
    for path in ("hf_no_cache", "hf_cache"):
        if rows[path]:
            out[path] = {"tokens_per_s": n / statistics.median(rows[path])}
    return out


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}


def report(r):
    m = r["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, NumPy {m['numpy']}")
    print(f"transformers: {r['transformers'] or 'not installed: ratios not measured'}")
    print(f"medians of {r['runs']} runs, {r['new_tokens']} new tokens, greedy\n")
    wb = r["weight_bytes"]
    print(f"weights: {wb / 1e6:.1f} MB float32; load from disk (warm page cache): {r['load_seconds']:.3f} s")
    for path, rss in r["peak_rss"].items():
        print(f"peak resident memory of main.py, {path}: {rss / 1e6:.1f} MB = {rss / wb:.3f} x the weights")
    print(f"memory bandwidth: {r['bandwidth'] / 1e9:.1f} GB/s -> floor {r['floor_seconds_per_token'] * 1e3:.1f} ms "
          f"per decoded token ({1 / r['floor_seconds_per_token']:.1f} tokens/s)\n")
    print("| prompt | path | prefill | decode / token | tokens/s | vs transformers |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key in [k for k in r if k.startswith("prompt_")]:
        row = r[key]
        for path, hf in (("naive", "hf_no_cache"), ("kv_cache", "hf_cache")):
            ours = row[path]
            ratio = f"{ours['tokens_per_s'] / row[hf]['tokens_per_s']:.2f}x ({row[hf]['tokens_per_s']:.1f} tok/s)" \
                if hf in row else "-"
            print(f"| {key[7:]} | {path} | {ours['prefill_s'] * 1e3:.0f} ms | {ours['decode_s_per_token'] * 1e3:.1f} ms "
                  f"| {ours['tokens_per_s']:.1f} | {ratio} |")
    for key in [k for k in r if k.startswith("prompt_")]:
        decode = r[key]["kv_cache"]["decode_s_per_token"]
        print(f"\nprompt {key[7:]}: KV-cache decode at {r['floor_seconds_per_token'] / decode:.0%} of the bandwidth floor")


if __name__ == "__main__":
    main()
