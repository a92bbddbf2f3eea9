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
import json
import os
import sys
from typing import Callable, NamedTuple

import numpy as np

from config import overflowed
from generate import generate
from instruments.ablate import ablate, mean_outputs
from instruments.probe import probe
from instruments.steer import next_step, steered_stream
from instruments.top_tokens import print_step, recording
from instruments.wiring import check, print_instruments, run_instruments, steering_of, write_page
from lessons.sampling import sampler, within
from lessons.score import print_scores, scored
from load import load_checkpoint, model_folder
from model import residual_stream
from plumbing.arguments import UsageError, command_line, parse_args
from plumbing.files import OutputError, check_writable, inputs_of
from plumbing.process import run_as_process, standard_streams, usage_error
from plumbing.progress import progress_bar
from plumbing.stream import stream
from plumbing.watch import Watch, stopping, stops_with


def main(argv=None):
    standard_streams()
    parser = command_line()
    try:
        args = parse_args(parser, argv)
    except UsageError as e:
        return usage_error(parser, e)
    return run_as_process(lambda: run_command(parser, args), parser, args.debug)


def run_command(parser, args):
    if args.steer is not None and args.max_new_tokens == 0 and not (args.score or args.reading or args.serve):
        raise UsageError("-n 0 generates nothing and no tool reads the steered run: give -n, --score or a tool "
                         "(--lens, --heads...), or leave out --steer")  # the live page draws the run: it may
    outputs = [(path, option) for path, option in ((args.attention, "--attention"), (args.report, "--report")) if path]
    local = inputs_of(args.model, args.prompt_file) if os.path.isdir(args.model) else {}  # a hub's files: below
    if len({check_writable(*output, local) for output in outputs}) < len(outputs):  # before any work, not after it
        raise OutputError(f"--attention and --report both name {outputs[0][0]}: give each a file of its own")
    folder = model_folder(args.model)
    for output in outputs:  # nor over what the run reads
        check_writable(*output, inputs_of(folder, args.prompt_file))
    model = load_checkpoint(args.model, folder)
    if args.serve:
        from instruments.page.server import serve
        return serve(model, args.port, parser, one_run)
    held = []  # --show-top: the text waits until the lines of every step are printed
    watch = Watch(text=held.append if args.show_top else write, tools=print_instruments, progress=progress_bar,
                  step=(lambda n, chosen, top: print_step(n, chosen, top, model.tok)) if args.show_top else None)
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():  # --json | jq: the JSON alone
        run = one_run(args, model, watch)
        write("".join(held))
        if args.score:
            print_scores(run.report["ids"], run.report["logprobs"], run.report["perplexity"], model.tok,
                         model.config.n_ctx)
        if args.report:
            write_page(run, model, progress_bar)
    if args.json:
        ascii_only = (sys.stdout.encoding or "").lower().replace("-", "") != "utf8"  # then \u escapes keep it valid JSON
        print(json.dumps(run.report, ensure_ascii=ascii_only, allow_nan=False))  # strict JSON


def one_run(args, model, watch=Watch()):
    """One run of the chain: a Run, whose report is the --json object."""
    with np.errstate(over="raise", invalid="raise"), stops_with(watch.stop):  # a trained GPT-2 never overflows float32
        try:
            return chain(args, model, watch)
        except FloatingPointError:
            raise overflowed("its activations") from None


class Run(NamedTuple):  # one run: its --json object, and what the page shows of it besides
    args: object  # the options it ran with
    report: dict  # the --json object
    window: list  # the prompt's ids that the tools read (at most n_ctx)
    seen: object  # their probe (instruments/probe.py), if a tool needed it; else None, and the page probes them
    params: object  # the weights the run used: with the ablated heads removed
    steps: list  # the likeliest tokens at each generated step
    steer: object  # --steer's Steer (instruments/steer.py), or None
    chooser: Callable  # () -> a new sampler of the run's (lessons/sampling.py), from its seed


def chain(args, model, watch):
    params, config, tok = model.params, model.config, model.tok
    ids = tok.encode(args.prompt) or [tok.eos_id]  # GPT-2 samples unconditionally after <|endoftext|>
    mistake = check(args, ids, params, config, tok)
    if mistake:
        raise UsageError(mistake)
    window = ids[-config.n_ctx:]  # what the learning tools and experiments read
    steer = steering_of(args, params, config, tok)  # --steer: from the plain weights; None without it
    # the run with every head: --ablate-with mean takes its heads' mean outputs, --self-repair compares against it
    clean = probe(window, params, config, steer) if args.ablate_with == "mean" or args.self_repair else None
    means = mean_outputs(clean, args.ablate) if args.ablate_with == "mean" else None
    params = ablate(params, args.ablate, config, means)  # no heads: the same weights
    extra, seen = run_instruments(args, window, params, config, tok, steer, watch.progress, model.params, clean)
    watch.tools(args, extra, seen, window, params, config, tok, steer)
    steps = []  # the likeliest tokens at each generated step
    chooser = lambda: sampler(args.temperature, args.top_k, args.top_p, args.seed)  # noqa: E731
    if args.score:
        network = residual_stream if steer is None else lambda window, *model: steered_stream(window, *model, steer)
        report = scored(ids, params, config, args.stride, network, progress=stopping)
    else:
        report = generation(args, ids, params, config, tok, steer, watch, steps, chooser())
    return Run(args, {"model": args.model, **report, **extra}, window, seen, params, steps, steer, chooser)


def generation(args, ids, params, config, tok, steer, watch, steps, choose):
    """Continue the prompt, choosing each token with choose: its --json object; steps gets the k likeliest tokens at
    each step (--show-top's k, or the page's 5)."""
    choose = within(recording(choose, args.show_top or 5, tok, steps, watch.step), tok)
    if tok.size < config.vocab_size:
        watch.note(f"the model scores {config.vocab_size} tokens and its tokenizer has text for {tok.size}: the other "
                   f"{config.vocab_size - tok.size} are never chosen")
    step = next_step(args.kv_cache, params, config, len(ids) + args.max_new_tokens, steer)
    new_ids = generate(ids, params, config, args.max_new_tokens, choose,
                       stop_id=None if args.ignore_eos else tok.eos_id,
                       sliding_window=args.sliding_window, next_logits=step)
    new_ids = stream(new_ids, tok, watch.text, args.prompt)
    watch.text("\n")
    if len(new_ids) < args.max_new_tokens and new_ids[-1:] != [tok.eos_id]:
        watch.note(f"stopped after {len(new_ids)} new tokens: the model reads at most {config.n_ctx} tokens")
    report = {"prompt_ids": ids, "generated_ids": new_ids, "text": args.prompt + tok.decode(new_ids)}
    return dict(report, show_top=steps) if args.show_top or args.report else report  # --report: as before the page existed


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
