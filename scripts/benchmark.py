"""Benchmark: speed and memory of numpy-gpt2 on GPT-2's shapes, offline, beside transformers.

    .venv/bin/python scripts/benchmark.py                        # GPT-2 124M's shapes, about 12 minutes
    .venv/bin/python scripts/benchmark.py --shapes small medium  # and 355M's, about 45 minutes more
    .venv/bin/python scripts/benchmark.py --runs 1 --prompt-lengths 32

For each shape it builds a checkpoint with GPT-2's exact shapes and random weights (no download;
kept in a temporary folder and reused), then reports:
- load time, and the peak memory of main.py in a process of its own, generating and scoring: peak
  anonymous memory (RssAnon, sampled every few milliseconds: the memory the run itself needs) and
  VmHWM (the peak of all resident memory, file pages included), each against the weights' size;
- the machine's memory bandwidth and the floor it implies for one decoded token (every weight is
  read once per token: weight bytes / bandwidth);
- at each prompt length, medians over --runs runs of prefill time, per-token decode time and tokens/s
  of the naive and the KV-cache paths, with --new-tokens new tokens, greedy;
- --score on one window of n_ctx tokens;
- with --stops-only: how soon Stop, a client gone, Ctrl-C and an unreachable hub end a run, quiet and with --load
  busy processes beside it (the suite waits for these events instead of bounding them in seconds);
- the live page's requests on the founding prompt (8 new tokens, --lens --heads --attribute, and a click that
  removes a head), beside the same run's command line;
- the experiments' grids on the founding prompt (22 tokens, " yellow" against " green"): each --patch-at
  kind, path patching to the logits and to a head's queries, the copying scores, --why-attends and --self-repair, in forward-pass
  equivalents: each grid's median time over the median time of one forward pass of the same prompt
  (model.forward, every position's logits), both taken in this process.

When torch and transformers are importable it also times transformers' GPT2LMHeadModel on the same
checkpoint (generate with use_cache off and on, greedy, and one forward pass for --score),
alternating with ours in the same loop so that both see the same machine load, and prints the
ratios beside the targets of the speed issue. Random weights do not change the work done.
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

from config import read_config  # noqa: E402
from generate import generate  # noqa: E402
from lessons.kv_cache import cached_step  # noqa: E402
from lessons.score import token_logprobs  # noqa: E402
from load import expected_shapes, load_model  # noqa: E402
from model import forward  # noqa: E402

SHAPES = {"small": (12, 12, 768), "medium": (24, 16, 1024), "large": (36, 20, 1280), "xl": (48, 25, 1600)}
TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2")  # GPT-2's vocab.json and merges.txt
TARGETS = {"naive": 1.0, "kv_cache": 1.5, "decode_short": 0.85, "decode_long": 0.75, "score": 1.0, "memory": 1.1}


def gpt2_config(shape):
    n_layer, n_head, n_embd = SHAPES[shape]
    return {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "n_positions": 1024, "n_ctx": 1024,
            "vocab_size": 50257, "model_type": "gpt2", "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}


def build_checkpoint(folder, shape="small"):
    """GPT-2's shapes, random weights at about GPT-2's scale, the hub's layout with its mask buffers."""
    from safetensors.numpy import save_file  # a test requirement: writing checkpoints is not the program's job
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    print(f"building a GPT-2-{shape}-shaped checkpoint in {folder} ...", file=sys.stderr)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(gpt2_config(shape), f)
    rng = np.random.default_rng(0)
    shapes = expected_shapes(read_config(os.path.join(folder, "config.json")))
    tensors = {name: (0.02 * rng.standard_normal(shape, dtype=np.float32)) for name, shape in shapes.items()}
    mask = np.tril(np.ones((1024, 1024), np.float32))[None, None]
    tensors.update({f"h.{i}.attn.bias": mask for i in range(SHAPES[shape][0])})
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


def bandwidth(runs=15):
    """Bytes per second the machine reads, as a matrix-vector product does.

    The fastest of runs, not the median: the floor is what the machine can do, and on a shared
    machine the median of this short measurement swings by half between runs."""
    a = np.ones(((1 << 28) // 4096, 4096), np.float32)  # 1 GiB, far larger than any cache
    v = np.ones(4096, np.float32)
    return max(a.nbytes / median_time(lambda: a @ v, 1) for _ in range(runs))


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


def time_transformers_forward(hf, ids):
    """One forward pass with every position's logits, as scoring needs."""
    torch, model = hf
    with torch.inference_mode():
        start = time.perf_counter()
        logits = model(torch.tensor([ids]), use_cache=False).logits
        seconds = time.perf_counter() - start
    assert logits.shape == (1, len(ids), model.config.vocab_size)
    return seconds


VMHWM = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
with open("/proc/self/status") as f:  # the peak of this program alone (ru_maxrss would count the fork)
    print(next(line.split()[1] for line in f if line.startswith("VmHWM")), file=sys.stderr)
"""


def peak_memory(folder, arguments):
    """(peak RssAnon, VmHWM) in bytes of main.py run with arguments, in a process of its own (Linux).

    RssAnon is the memory the run allocated itself; Linux keeps no peak of it, so it is sampled every
    2 ms. VmHWM is the peak of all resident memory, including file pages the kernel can reclaim."""
    command = [sys.executable, "-c", VMHWM, os.path.join(ROOT, "main.py"), "--model", folder, *arguments]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_anon = 0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as f:
                anon = next((line.split()[1] for line in f if line.startswith("RssAnon")), "0")
            peak_anon = max(peak_anon, int(anon) * 1024)
        except (OSError, ValueError):
            pass  # the process is ending
        time.sleep(0.002)
    stderr = child.stderr.read()
    assert child.returncode == 0, stderr
    return peak_anon, int(stderr.split()[-1]) * 1024  # VmHWM is in KiB


def memory_runs(folder, lengths, new_tokens, n_ctx):
    """{run: (peak RssAnon, VmHWM)} for generating after the shortest and longest prompt, and --score."""
    runs = {}
    for length in sorted({min(lengths), max(lengths)}):
        prompt = "hello" + " hello" * (length - 1)  # one token per word
        n = min(new_tokens, 4) if length > 128 else new_tokens  # the peak comes from the long prompt itself
        runs[f"{length}-token prompt, naive, -n {n}"] = peak_memory(folder, [prompt, "-n", str(n)])
        runs[f"{length}-token prompt, KV cache, -n {n}"] = peak_memory(folder, [prompt, "-n", str(n), "--kv-cache"])
    runs[f"--score, {n_ctx} tokens"] = peak_memory(folder, ["hello" + " hello" * (n_ctx - 1), "--score"])
    return runs


def measure(shape, args):
    folder = build_checkpoint(os.path.join(args.folder, f"numpy-gpt2-benchmark-{shape}"), shape)
    n = args.new_tokens
    # Memory first, in child processes, before this process holds anything large.
    config = read_config(os.path.join(folder, "config.json"))
    weight_bytes = 4 * sum(math.prod(shape) for shape in expected_shapes(config).values())  # float32
    if args.page_only:  # one forward pass of the founding prompt, as the unit; then the live page alone
        from tokenizer import load_tokenizer
        params, config = load_model(folder)
        ids = load_tokenizer(TOKENIZER).encode(FOUNDING)
        one_pass = median_time(lambda: forward(ids, params, config), 9)
        return {"shape": shape, "config": gpt2_config(shape), "weight_bytes": weight_bytes, "forward_s": one_pass,
                "server": time_server(folder, args.runs), "clicks": time_clicks(folder, 5, one_pass)}
    memory = memory_runs(folder, args.prompt_lengths, n, config.n_ctx)
    load_seconds = median_time(lambda: load_model(folder), args.runs)
    results = {"shape": shape, "config": gpt2_config(shape), "load_seconds": load_seconds, "weight_bytes": weight_bytes,
               "memory": memory}
    if args.memory_only:
        return results
    params, config = load_model(folder)
    results["grids"] = time_grids(params, config, args.runs)
    results["server"] = time_server(folder, args.runs)
    results["clicks"] = time_clicks(folder, 5, results["grids"]["forward_s"])
    if args.grids_only:
        return results
    read_per_token = weight_bytes - params.wpe.nbytes  # one row of wpe is read, all else once
    bw = bandwidth()
    results.update(bandwidth=bw, floor_seconds_per_token=read_per_token / bw)
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

    ids = [int(i) for i in rng.integers(0, 50000, config.n_ctx)]
    score = {"ours_s": [], "hf_forward_s": []}
    for _ in range(args.runs):
        score["ours_s"].append(median_time(lambda: token_logprobs(ids, params, config), 1))
        if hf:
            score["hf_forward_s"].append(time_transformers_forward(hf, ids))
    results["score"] = {key: statistics.median(times) for key, times in score.items() if times}
    return results


FOUNDING = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat is"
GRID_TARGET = 40  # forward-pass equivalents, at most, for each grid on the founding prompt
ESTIMATE_TARGET = 4  # forward-pass equivalents, at most: all six grids of --estimate-only, or --edges, probes included
SERVER_TARGET = 2.0  # seconds, at most, for the live page's run of the founding prompt, and for a click


def time_grids(params, config, runs):
    """{what: (median seconds, forward-pass equivalents)} of each experiment's grid on the founding prompt."""
    from instruments.ablate import ablate
    from instruments.attribution_patching import attribution_patching
    from instruments.self_repair import self_repair
    from instruments.why_attends import why_attends
    from instruments.copying import copying_scores
    from instruments.edges import edges
    from lessons.backward import backward, metric_gradient
    from instruments.patch import KINDS, kind_grid, measure
    from instruments.path_patch import path_grid
    from instruments.probe import probe
    from tokenizer import load_tokenizer
    tok = load_tokenizer(TOKENIZER)
    ids, corrupted_ids = tok.encode(FOUNDING), tok.encode(FOUNDING.replace("yellow", "green"))
    target = tok.encode(" yellow")[0]
    clean, corrupted = probe(ids, params, config), probe(corrupted_ids, params, config)
    metric = measure(target, None, params, config)
    receiver = (config.n_layer - 3, 0, "q")  # a head late in the network: many senders
    work = {f"--patch-at {kind}": (lambda kind=kind: kind_grid(kind, clean, corrupted, metric, list(range(len(ids))),
                                                              params, config)) for kind in KINDS}
    work["--path logits"] = lambda: path_grid("logits", clean, corrupted, metric, params, config)
    work[f"--path {receiver[0]}.{receiver[1]}.q"] = lambda: path_grid(receiver, clean, corrupted, metric, params, config)
    work["--copying"] = lambda: copying_scores(ids, clean, params, config)
    work["--patch-at heads (logit difference)"] = lambda: kind_grid("heads", clean, corrupted,
                                                                    measure(target, tok.encode(" green")[0], params,
                                                                            config),
                                                                    list(range(len(ids))), params, config)
    work["--attribution-patching --estimate-only, all six grids (both probes and the backward)"] = \
        lambda: attribution_patching(probe(ids, params, config), probe(corrupted_ids, params, config), target, None,
                                     KINDS, list(range(len(ids))), params, config)
    work["--edges, every edge (both probes, the backward and the products)"] = lambda: edges(
        probe(ids, params, config), probe(corrupted_ids, params, config), target, None, params, config)
    work["the backward pass alone"] = lambda: backward(corrupted, metric_gradient(corrupted.logits[-1], target)[1],
                                                       params, config)
    half = config.n_layer // 2  # a head with many earlier heads to compose with
    ablated = ablate(params, [(half, 0)], config)
    without = probe(ids, ablated, config)  # the ablated run's own probe, which --self-repair reads
    work[f"--why-attends {half}.0 (its table and every composition score, from the run's probe)"] = \
        lambda: why_attends(clean, params, config, half, 0)
    work[f"--self-repair of --ablate {half}.0 (the run with every head, then the split)"] = \
        lambda: self_repair(probe(ids, params, config), without, params, ablated, config, target)
    one_pass = median_time(lambda: forward(ids, params, config), 9)
    results = {"n_seq": len(ids), "forward_s": one_pass,
               "forward_last_only_s": median_time(lambda: forward(ids, params, config, last_only=True), 9)}
    for what, f in work.items():
        seconds = median_time(f, runs)
        results[what] = (seconds, seconds / one_pass)
    return results


def time_server(folder, runs):
    """{what: (median seconds of the live page's request, of the same run's command line)} on the founding prompt."""
    import http.client
    import re
    served = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "--serve", "--model", folder, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", served.stdout.readline())[1])

    def ask(path, body):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        text = connection.getresponse().read()
        connection.close()
        return text
    run = {"prompt": FOUNDING, "max_new_tokens": 8, "lens": True, "heads": True, "attribute": True}
    results = {}
    try:
        for what, options in (("a run: 8 new tokens, --lens --heads --attribute", run),
                              ("the same with --kv-cache", dict(run, kv_cache=True)),
                              ("a click that removes head 5.1", dict(run, ablate="5.1")),
                              ("a click that removes head 5.1, --kv-cache", dict(run, ablate="5.1", kv_cache=True))):
            ask("/api/page", {"options": options})  # warm up
            page = median_time(lambda: ask("/api/page", {"options": options, "watch": [100]}), runs)
            api = median_time(lambda: ask("/api/run", options), runs)
            argv = [f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')}={v}" for k, v in options.items()
                    if k != "prompt"]
            command = [sys.executable, os.path.join(ROOT, "main.py"), FOUNDING, "--model", folder, "--json", *argv]
            terminal = median_time(lambda: subprocess.run(command, capture_output=True, check=True), runs)
            results[what] = (page, api, terminal)
        why = {"options": {"prompt": FOUNDING, "max_new_tokens": 0}, "block": 5, "head": 1, "query": 10, "key": 3}
        ask("/api/why", why)  # warm up
        results["why"] = median_time(lambda: ask("/api/why", why), runs)  # a click on an attention map's cell
    finally:
        served.terminate()
        served.wait()
    return results


CLICK_TARGET = 12  # forward-pass equivalents of the founding prompt, at most, from a click on a head to its answer drawn


def time_clicks(folder, runs, one_pass):
    """(median seconds from a click on a head to its answer drawn, to its whole page drawn, the full page's first run),
    measured in Chromium through Selenium on the live page: the page records each click's times
    (performance.now(): its `clicks`). None where no Chromium or Selenium is installed."""
    import re
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        return None
    served = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "--serve", "--model", folder, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", served.stdout.readline())[1])
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1000"):
        options.add_argument(flag)
    options.binary_location = chromium
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    finished = lambda d: d.find_element("id", "run").is_enabled() and d.find_element("id", "status").text == "done"  # noqa: E731
    try:
        from urllib.parse import quote
        browser.get(f"http://127.0.0.1:{port}/?prompt={quote(FOUNDING)}&max_new_tokens=8&kv_cache=true&heads=true")
        WebDriverWait(browser, 60).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "yes")
        started = time.perf_counter()
        browser.find_element("id", "run").click()
        WebDriverWait(browser, 600).until(finished)
        first = time.perf_counter() - started
        for n in range(runs + 1):  # the first click warms up
            head = browser.find_element("css selector", f'#heads-induction td[data-head="5.{n + 1}"]')
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", head)
            head.click()
            WebDriverWait(browser, 600).until(finished)
            browser.execute_script("document.getElementById('clear').scrollIntoView({block: 'center'})")
            browser.find_element("id", "clear").click()
            WebDriverWait(browser, 600).until(finished)
        times = browser.execute_script("return clicks")[1:]
    finally:
        browser.quit()
        served.terminate()
        served.wait()
    answer = sorted((t["answer"] - t["click"]) / 1000 for t in times)[len(times) // 2]
    page = sorted((t["page"] - t["click"]) / 1000 for t in times)[len(times) // 2]
    return {"answer_s": answer, "answer_passes": answer / one_pass, "page_s": page, "page_passes": page / one_pass,
            "first_page_s": first, "clicks": len(times)}


def busy(n):
    """n processes that each keep one core busy (a laptop with a browser and a build running): stop with .kill()."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def time_stops(folder, runs, load):
    """{what: [seconds, ...]}: how soon a run ends once asked to, on the live page and the command line, and how soon
    an unreachable hub is said, each with `load` busy processes beside it. The suite waits for these events rather
    than bounding them in seconds; here they are timed."""
    import http.client
    import re
    import signal
    import socket
    hogs = busy(load)
    served = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "--serve", "--model", folder, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", served.stdout.readline())[1])
    results = {"Stop, to the end of the page's stream (generation)": [],
               "a client gone, to the next run's answer (less that run alone)": [],
               "Ctrl-C during a patching grid, to main.py's exit": [], "an unreachable hub, to main.py's sentence": []}
    long_run = {"prompt": FOUNDING * 4, "max_new_tokens": 400}

    def ask(body, run_id):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("POST", "/api/page", json.dumps(body), {"Content-Type": "application/json", "Run-Id": run_id})
        response = connection.getresponse()
        while '"token"' not in response.readline().decode() or '"token"' not in response.readline().decode():
            pass  # the prompt's text, then a generated piece: under way
        return connection, response

    def small_run():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("POST", "/api/run", json.dumps({"prompt": "hi", "max_new_tokens": 1}),
                           {"Content-Type": "application/json"})
        connection.getresponse().read()
        connection.close()
    try:
        small_run()
        alone = median_time(small_run, runs)
        for n in range(runs):
            connection, response = ask({"options": long_run}, f"benchmark-stop-{n}")
            stop = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            started = time.perf_counter()
            stop.request("POST", "/api/stop", json.dumps({"run": f"benchmark-stop-{n}"}), {"Content-Type": "application/json"})
            stop.getresponse().read()
            response.read()
            results["Stop, to the end of the page's stream (generation)"].append(time.perf_counter() - started)
            connection.close()
            connection, response = ask({"options": long_run}, f"benchmark-gone-{n}")
            response.close()  # the socket itself closes with its last user
            connection.close()
            started = time.perf_counter()
            small_run()
            results["a client gone, to the next run's answer (less that run alone)"].append(
                time.perf_counter() - started - alone)
    finally:
        served.terminate()
        served.wait()
    prompt = "hello " * 400
    marked = ("import sys, runpy, plumbing.progress as p\n"
              "def bar(steps, what):\n"
              "    for i, step in enumerate(steps):\n"
              "        if i == 1: print('under way', file=sys.stderr, flush=True)\n"
              "        yield step\n"
              "p.progress_bar = bar\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n")
    for _ in range(runs):
        process = subprocess.Popen([sys.executable, "-c", marked, os.path.join(ROOT, "main.py"), prompt, "--model", folder,
                                    "-n", "0", "--patch", prompt.replace("hello", "world", 1), "--patch-at", "heads"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        process.stderr.readline()
        started = time.perf_counter()
        process.send_signal(signal.SIGINT)
        process.communicate()
        results["Ctrl-C during a patching grid, to main.py's exit"].append(time.perf_counter() - started)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as home:
                started = time.perf_counter()
                subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "hi"], capture_output=True,
                               env=dict(env, HF_HOME=home, HF_ENDPOINT=endpoint))
                results["an unreachable hub, to main.py's sentence"].append(time.perf_counter() - started)
    for hog in hogs:
        hog.kill()
    return results


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


def verdict(value, target, more_is_better=True):
    met = value >= target if more_is_better else value <= target
    return f"{'met' if met else 'NOT met'} (target {'>=' if more_is_better else '<='} {target:g})"


def report(r, runs, new_tokens):
    c = r["config"]
    print(f"\n## GPT-2 {r['shape']}'s shapes (n_layer {c['n_layer']}, n_head {c['n_head']}, n_embd {c['n_embd']})\n")
    if "transformers" in r:
        print(f"transformers: {r['transformers'] or 'not installed: ratios not measured'}; "
              f"medians of {runs} runs, {new_tokens} new tokens, greedy")
    wb = r["weight_bytes"]
    if "forward_s" in r:  # --page-only
        print(f"one forward pass of the founding prompt: {r['forward_s'] * 1e3:.0f} ms")
    else:
        print(f"weights: {wb / 1e6:.1f} MB float32; load from disk (warm page cache): {r['load_seconds']:.2f} s")
    if "memory" in r:
        print("\n| main.py run | peak RssAnon | x weights | VmHWM | x weights |")
        print("| --- | --- | --- | --- | --- |")
    for run, (anon, hwm) in r.get("memory", {}).items():
        print(f"| {run} | {anon / 1e6:.0f} MB | {anon / wb:.2f} {verdict(anon / wb, TARGETS['memory'], False)} "
              f"| {hwm / 1e6:.0f} MB | {hwm / wb:.2f} |")
    if "grids" in r:
        g = r["grids"]
        print(f"\nexperiments on the founding prompt ({g['n_seq']} tokens): one forward pass {g['forward_s'] * 1e3:.0f} ms "
              f"(last position only: {g['forward_last_only_s'] * 1e3:.0f} ms); medians of {runs} runs\n")
        print("| grid | time | forward-pass equivalents | against the last-position-only pass |")
        print("| --- | --- | --- | --- |")
        for what, value in g.items():
            if isinstance(value, (list, tuple)):
                target = ESTIMATE_TARGET if what.startswith(("--attribution-patching", "--edges")) else GRID_TARGET
                print(f"| {what} | {value[0]:.2f} s | {value[1]:.1f} {verdict(value[1], target, False)} "
                      f"| {value[0] / g['forward_last_only_s']:.1f} |")
    if "server" in r:
        print(f"\nthe live page (--serve), the founding prompt, medians of {runs} runs: the page's request (/api/page: the "
              "run and the page's data), the API's (/api/run), and the same run's command line (a process of its own, "
              "loading the model first)\n")
        print("| run | /api/page | /api/run | command line |")
        print("| --- | --- | --- | --- |")
        for what, (page, api, terminal) in ((k, v) for k, v in r["server"].items() if k != "why"):
            print(f"| {what} | {page:.2f} s {verdict(page, SERVER_TARGET, False)} | {api:.2f} s | {terminal:.2f} s |")
        why = r["server"]["why"]
        print(f"\na click on a cell of head 5.1's attention map (/api/why, the run's probe and the split): {why * 1e3:.0f} ms "
              f"{verdict(why, 0.2, False)}")
    if r.get("clicks"):
        c = r["clicks"]
        print(f"\nthe live page in Chromium (Selenium), the founding prompt, 8 new tokens, --heads, the KV cache: medians "
              f"of {c['clicks']} clicks that each remove one head\n")
        print("| from a click to | time | forward-pass equivalents |")
        print("| --- | --- | --- |")
        print(f"| its answer drawn (the continuation and P(followed) with and without) | {c['answer_s']:.2f} s "
              f"| {c['answer_passes']:.1f} {verdict(c['answer_passes'], CLICK_TARGET, False)} |")
        print(f"| its whole page drawn | {c['page_s']:.2f} s | {c['page_passes']:.1f} |")
        print(f"| (the first run's whole page, from Run) | {c['first_page_s']:.2f} s | |")
    if "bandwidth" not in r:
        return
    print(f"\nmemory bandwidth: {r['bandwidth'] / 1e9:.1f} GB/s (the fastest of 15 runs) -> floor "
          f"{r['floor_seconds_per_token'] * 1e3:.1f} ms per decoded token")
    print("\n| prompt | path | prefill | decode / token | tokens/s | transformers tokens/s | ratio | decode vs floor |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for key in [k for k in r if k.startswith("prompt_")]:
        row, length = r[key], int(key[7:])
        for path, hf in (("naive", "hf_no_cache"), ("kv_cache", "hf_cache")):
            ours = row[path]
            theirs, ratio, floor = "-", "-", "-"
            if hf in row:
                theirs = f"{row[hf]['tokens_per_s']:.2f}"
                ratio = f"{ours['tokens_per_s'] / row[hf]['tokens_per_s']:.2f}x"
                ratio += f" {verdict(ours['tokens_per_s'] / row[hf]['tokens_per_s'], TARGETS[path])}"
            if path == "kv_cache":
                share = r["floor_seconds_per_token"] / ours["decode_s_per_token"]
                floor = f"{share:.0%}"
                if length in (32, 992):
                    floor += f" {verdict(share, TARGETS['decode_short' if length == 32 else 'decode_long'])}"
            print(f"| {length} | {path} | {ours['prefill_s'] * 1e3:.0f} ms | {ours['decode_s_per_token'] * 1e3:.1f} ms "
                  f"| {ours['tokens_per_s']:.2f} | {theirs} | {ratio} | {floor} |")
    s = r["score"]
    line = f"\n--score, one window of {c['n_ctx']} tokens: {s['ours_s']:.2f} s"
    if "hf_forward_s" in s:
        ratio = s["hf_forward_s"] / s["ours_s"]
        line += f"; transformers' forward pass {s['hf_forward_s']:.2f} s; {ratio:.2f}x {verdict(ratio, TARGETS['score'])}"
    print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=["small"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--prompt-lengths", type=int, nargs="+", default=[1, 32, 128, 512, 992])
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where the checkpoints are built")
    parser.add_argument("--no-transformers", action="store_true", help="measure numpy-gpt2 alone")
    parser.add_argument("--memory-only", action="store_true", help="load time and peak memory, no timings")
    parser.add_argument("--grids-only", action="store_true", help="memory, then the experiments' grids and the live page only")
    parser.add_argument("--page-only", action="store_true", help="the live page alone: its requests and its clicks")
    parser.add_argument("--stops-only", action="store_true",
                        help="how soon Stop, a client gone, Ctrl-C and an unreachable hub end a run, quiet and beside "
                             "--load busy processes")
    parser.add_argument("--load", type=int, default=8, help="busy processes beside --stops-only's second round")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    args = parser.parse_args()
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, NumPy {m['numpy']}")
    results = {"machine": m, "runs": args.runs, "new_tokens": args.new_tokens, "shapes": []}
    if args.stops_only:
        folder = build_checkpoint(os.path.join(args.folder, "numpy-gpt2-benchmark-small"), "small")
        for load in (0, args.load):
            print(f"\nhow soon a run ends, GPT-2 124M's shapes, {load} busy processes beside it, {args.runs} runs\n")
            print("| from | to the end: median | longest |\n| --- | --- | --- |")
            for what, seconds in time_stops(folder, args.runs, load).items():
                print(f"| {what} | {statistics.median(seconds):.2f} s | {max(seconds):.2f} s |")
        return
    for shape in args.shapes:
        results["shapes"].append(measure(shape, args))
        report(results["shapes"][-1], args.runs, args.new_tokens)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
