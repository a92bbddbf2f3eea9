"""Run GPT-2 from the command line: python main.py "The color of the cat"

The top of the call chain, and this file reads as the chain: read the options, load the model, encode
the prompt, run the learning tools and experiments asked for (instruments/), then continue the prompt
(generate.py) or score it (lessons/score.py), printing the text as it is produced. `--serve` runs the
same chain for the live page (instruments/page/server.py); what watches a run as it goes, the terminal or
the page, is one Watch (plumbing/watch.py). What the process does around it (signals, exit codes, the
standard streams) is plumbing/process.py. Reading order: this file, generate.py, model.py, layer.py,
attention.py, mlp.py, tensor_ops.py; then lessons/ (one_function.py first) and instruments/.
"""
import plumbing.startup  # noqa: F401 -- first, for its one effect: Ctrl-C while the rest loads ends quietly
import contextlib
import itertools
import json
import math
import sys
from typing import NamedTuple

import numpy as np

from config import ModelError, overflowed
from generate import generate
from instruments.ablate import ablate, mean_outputs
from instruments import steer as steered
from instruments.wiring import check, print_instruments, run_instruments, steering_of, write_page
from instruments.probe import probe
from instruments.top_tokens import print_step, recording
from lessons.kv_cache import cached_step
from lessons.sampling import sampler, within
from lessons.score import perplexity, print_scores, token_logprobs
from load import load_model, model_folder
from model import residual_stream
from plumbing.arguments import UsageError, command_line, parse_args
from plumbing.files import OutputError, check_writable, inputs_of
from plumbing.process import run_as_process, standard_streams, usage_error
from plumbing.progress import progress_bar
from plumbing.watch import Watch, stopping, stops_with
from tokenizer import load_tokenizer


class Model(NamedTuple):
    name: str  # as --model gave it
    params: object  # params.GPT2
    config: object  # config.Config
    tok: object  # tokenizer.GPT2Tokenizer


def main(argv=None):
    standard_streams()
    parser = command_line()
    try:
        args = parse_args(parser, argv)
    except UsageError as e:
        return usage_error(parser, e)
    return run_as_process(lambda: run(parser, args), parser, args.debug)


def run(parser, args):
    outputs = [path for path in (args.attention, args.report) if path]
    if len({check_writable(path) for path in outputs}) < len(outputs):  # before any work, not after it
        raise OutputError(f"--attention and --report both name {outputs[0]}: give each a file of its own")
    folder = model_folder(args.model)
    for path in outputs:  # nor over what the run reads
        check_writable(path, inputs_of(folder, args.prompt_file))
    model = load(args.model, folder)
    if args.serve:
        from instruments.page.server import serve
        return serve(model, args.port, parser, answer)
    held = []  # --show-top: the text waits until the lines of every step are printed
    watch = Watch(text=held.append if args.show_top else write, tools=print_instruments, progress=progress_bar,
                  step=(lambda n, chosen, top: print_step(n, chosen, top, model.tok)) if args.show_top else None)
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():  # --json | jq: the JSON alone
        report, page = answer(args, model, watch)
        write("".join(held))
        if args.score:
            print_scores(report["ids"], report["logprobs"], report["perplexity"], model.tok, model.config.n_ctx)
        if args.report:
            write_page(args, page, model, report, progress_bar)
    if args.json:
        ascii_only = (sys.stdout.encoding or "").lower().replace("-", "") != "utf8"  # then \u escapes keep it valid JSON
        print(json.dumps(report, ensure_ascii=ascii_only, allow_nan=False))  # strict JSON


def load(name, folder):
    tok = load_tokenizer(folder)  # first: it is quick, and a folder without one fails at once
    params, config = load_model(folder)
    if tok.size > config.vocab_size:
        raise ModelError(f"the tokenizer in {folder} has {tok.size} tokens but the model only {config.vocab_size}: "
                         "they come from different models")
    return Model(name, params, config, tok)


def answer(args, model, watch=Watch()):
    """One run: the --json object, and what the page shows besides (a Page)."""
    with np.errstate(over="raise", invalid="raise"), stops_with(watch.stop):  # a trained GPT-2 never overflows float32
        try:
            return chain(args, model, watch)
        except FloatingPointError:
            raise overflowed("its activations") from None


def chain(args, model, watch):
    params, config, tok = model.params, model.config, model.tok
    ids = tok.encode(args.prompt) or [tok.eos_id]  # GPT-2 samples unconditionally after <|endoftext|>
    mistake = check(args, ids, params, config, tok)
    if mistake:
        raise UsageError(mistake)
    window = ids[-config.n_ctx:]  # what the learning tools and experiments read
    steer = steering_of(args, params, config, tok)  # --steer: from the plain weights; None without it
    means = mean_outputs(probe(window, params, config, steer), args.ablate) if args.ablate_with == "mean" else None
    params = ablate(params, args.ablate, config, means)  # no heads: the same weights
    extra, seen = run_instruments(args, window, params, config, tok, steer, watch.progress)
    watch.tools(args, extra, seen, window, params, config, tok, steer)
    steps = []  # the likeliest tokens at each generated step
    if args.score:
        report = score(args, ids, params, config, steer)
    else:
        report = generation(args, ids, params, config, tok, steer, watch, steps)
    return {"model": args.model, **report, **extra}, Page(window, seen, params, steps, steer)


class Page(NamedTuple):  # what the page shows of a run besides its --json object
    window: list  # the prompt's ids that the tools read (at most n_ctx)
    seen: object  # their probe (instruments/probe.py), if a tool needed it; else None, and the page probes them
    params: object  # the weights the run used: with the ablated heads removed
    steps: list  # the likeliest tokens at each generated step
    steer: object = None  # --steer's Steer (instruments/steer.py), or None


def generation(args, ids, params, config, tok, steer, watch, steps):
    """Continue the prompt: its --json object; steps gets the k likeliest tokens at each step (--show-top's k, or
    the page's 5)."""
    choose = recording(sampler(args.temperature, args.top_k, args.top_p, args.seed), args.show_top or 5, tok, steps,
                       watch.step)
    choose = within(choose, tok)
    if tok.size < config.vocab_size:
        watch.note(f"the model scores {config.vocab_size} tokens and its tokenizer has text for {tok.size}: the other "
                   f"{config.vocab_size - tok.size} are never chosen")
    step = next_step(args, params, config, len(ids) + args.max_new_tokens, steer)
    new_ids = generate(ids, params, config, args.max_new_tokens, choose,
                       stop_id=None if args.ignore_eos else tok.eos_id,
                       sliding_window=args.sliding_window, next_logits=step)
    new_ids = stream(new_ids, tok, watch.text, args.prompt)
    watch.text("\n")
    if len(new_ids) < args.max_new_tokens and new_ids[-1:] != [tok.eos_id]:
        watch.note(f"stopped after {len(new_ids)} new tokens: the model reads at most {config.n_ctx} tokens")
    report = {"prompt_ids": ids, "generated_ids": new_ids, "text": args.prompt + tok.decode(new_ids)}
    return dict(report, top=steps) if args.show_top or args.report else report  # --report: as before the page existed


def next_step(args, params, config, n_tokens, steer):
    """generate()'s next_logits: None for its own naive step, or the KV cache's; --steer's own steps."""
    if steer is not None:
        return steered.cached_step(params, config, n_tokens, steer) if args.kv_cache else steered.naive_step(
            params, config, steer)
    return cached_step(params, config, n_tokens) if args.kv_cache else None


def stream(new_ids, tok, on_text, prompt):
    """Hand on the prompt, then the continuation as the ids arrive, and return them. The prompt waits for the
    first forward pass, so that a model that cannot run shows nothing. A token may end in the middle of a
    UTF-8 character (an emoji is often two or three tokens); decoding it alone would show the
    replacement character "\ufffd", so such text is held back until the character is complete."""
    new_ids = iter(new_ids)
    first = next(new_ids, None)
    on_text(prompt)
    generated, shown = [], ""
    for next_id in itertools.chain([] if first is None else [first], new_ids):
        generated.append(next_id)
        text = tok.decode(generated)
        if not text.endswith("\ufffd"):
            on_text(text[len(shown):])
            shown = text
    on_text(tok.decode(generated)[len(shown):])  # whatever was held back at the end
    return generated


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def score(args, ids, params, config, steer):
    network = residual_stream if steer is None else lambda window, *model: steered.steered_stream(window, *model, steer)
    logprobs = token_logprobs(ids, params, config, args.stride, network, progress=stopping)
    try:
        if not all(lp is None or math.isfinite(lp) for lp in logprobs):
            raise OverflowError
        return {"ids": ids, "logprobs": logprobs, "perplexity": perplexity(logprobs)}
    except OverflowError:  # a mean log-probability below -709: beyond what a float holds, and no trained GPT-2's
        raise overflowed("the log-probabilities") from None


if __name__ == "__main__":
    sys.exit(main())
