"""The instruments wired to main.py's options: what each option asks a tool to compute, print and add to --json.

One function per job, in the order main.py calls them:
  check              the first option that this model and prompt make impossible, as a sentence (a usage
                     error, exit 2, before anything is printed)
  run_instruments    what the tools and experiments compute, as --json holds it; nothing is printed, and the
                     prompt is probed once for all of them
  print_instruments  what the terminal shows of them, in the order a reader would ask: how is the prompt
                     cut, what shapes flow, what does each layer predict, where does attention look, then
                     the experiments
  write_page         --report's page
"""
import shlex
import sys

import numpy as np

from config import computed
from instruments.attention_map import summary, write_svg
from instruments.attribution_patching import (attribution_patching, print_attribution_patching, print_saliency,
                                              saliency)
from instruments.attribute import attribute, print_attribution
from instruments.copying import CopyingRow, copying_scores, print_copying
from instruments.edges import edges, print_edges
from instruments.head_roles import HeadScores, head_scores, print_heads, too_short
from instruments.logit_lens import logit_lens, print_lens
from instruments.page.data import Asked, page_data
from instruments.page.report import write_report
from instruments.patch import KINDS, measure, patching, print_patch
from instruments.path_patch import path_grid, print_path
from instruments.probe import probe
from instruments.refuse import check_heads
from instruments.self_repair import SelfRepair, print_self_repair, self_repair
from instruments.shape_trace import print_trace, trace
from instruments.steer import padded, steering
from instruments.token_view import bpe_work, describe, print_bpe, print_tokens, token_text
from instruments.why_attends import WhyAttends, print_why_attends, why_attends
from plumbing.arguments import UsageError, typed_command
from plumbing.option_types import quoted


def check(args, ids, params, config, tok):
    """The first option the model or the prompt's ids make impossible, as a sentence; None if every one is fine."""
    if len(ids) > config.n_ctx and not args.score:
        return f"the prompt has {len(ids)} tokens; this model reads at most {config.n_ctx}"
    if args.stride and args.stride >= config.n_ctx:
        return (f"--stride must be less than the model's context of {config.n_ctx} tokens, so that "
                "windows overlap and every token has context")
    if args.score and config.n_ctx < 2:
        return "--score needs a model that reads 2 tokens or more, so that its windows overlap; this one reads 1"
    short = too_short(config) if args.heads else None
    if short:
        return short
    tools = window_tools(args)
    if len(ids) > config.n_ctx and tools:  # --score: the text may be longer than the tools can read
        return (f"the learning tools and experiments read at most {config.n_ctx} tokens and the text has {len(ids)}: "
                f"give them a shorter text, or leave out {', '.join(tools)}")
    missing_head = check_heads(args.ablate, config)
    if missing_head:
        return missing_head
    if args.target_id is not None and args.target_id >= config.vocab_size:
        return f"--target-id {args.target_id} is no token of this model: its ids are 0 to {config.vocab_size - 1}"
    for option, text in (("--target", args.target), ("--versus", args.versus)):
        if text is not None and len(tok.encode(text)) != 1:
            return (f"{option} must be one token; {quoted(text)} is {len(tok.encode(text))} "
                    "(see --tokens; a word usually keeps its leading space, as in ' yellow')")
    corrupted = None if args.patch is None else tok.encode(args.patch) or [tok.eos_id]
    if corrupted is not None and len(corrupted) != len(ids):
        return (f"--patch needs a corrupted prompt with as many tokens as the prompt: the prompt has "
                f"{len(ids)}, {quoted(args.patch)} has {len(corrupted)}")
    if corrupted == ids:
        return ("--patch's corrupted prompt is the prompt itself: every patch would put back what is already there; "
                "change the tokens whose effect you want to see")
    if args.patch_positions is not None and not positions(args, ids):
        start, stop = ("" if end is None else end for end in (args.patch_positions.start, args.patch_positions.stop))
        return f"--patch-positions {start}:{stop} holds no position of the prompt's {len(ids)} (0 to {len(ids) - 1})"
    unknown = [kind for kind in args.patch_at or [] if kind not in KINDS]
    if unknown:
        return f"--patch-at {quoted(unknown[0])} cannot be patched: choose among {', '.join(KINDS)}"
    if args.path not in (None, "logits"):
        n_block, head, _ = args.path
        missing_head = check_heads([(n_block, head)], config)
        if missing_head:
            return "--path: " + missing_head
        if n_block == 0:
            return "--path needs a receiver after block 0: the senders are the heads of the blocks before it"
    if args.heads and len(ids) < 2:
        return "--heads needs a prompt of at least two tokens, to see where each position looks"
    why = check_why(args, ids, config)
    if why:
        return why
    return check_steering(args, ids, config, tok)


def check_why(args, ids, config):
    """--why-attends's mistakes, as check's."""
    if args.why_attends is None:
        return None
    missing_head = check_heads([args.why_attends], config)
    if missing_head:
        return "--why-attends: " + missing_head
    query = len(ids) - 1 if args.why_query is None else args.why_query
    if query >= len(ids):
        return f"--why-query {query} is not a position of the prompt's {len(ids)} (0 to {len(ids) - 1})"
    if args.why_key is not None and args.why_key > query:
        return (f"--why-key {args.why_key} comes after --why-query {query}: a position attends only to itself and the "
                "positions before it")
    return None


def check_steering(args, ids, config, tok):
    """--steer's mistakes, as check's."""
    if args.steer is None:
        return None
    if args.steer_at is not None and args.steer_at >= config.n_layer:
        return f"--steer-at {args.steer_at} is not a block of this model: its blocks are 0 to {config.n_layer - 1}"
    toward, against = steering_ids(args, tok)
    if not toward:
        return "--steer needs a text to steer toward, not an empty one"
    if len(toward) > config.n_ctx:
        return (f"--steer's texts have {len(toward)} tokens, and this model reads at most {config.n_ctx}: give "
                "shorter ones")
    if len(ids) < len(toward):  # --score too: its first window holds the prompt's first tokens
        return (f"--steer adds its vectors at the prompt's first {len(toward)} positions, and the prompt has "
                f"{len(ids)} tokens: give a longer prompt or shorter --steer texts")
    return None


def steering_ids(args, tok):
    """The ids of --steer's two texts, made the same length with " " (steer.padded)."""
    against = None if args.steer_against is None else tok.encode(args.steer_against)
    return padded(tok.encode(args.steer), against, tok.encode(" ")[0])


def steering_of(args, params, config, tok):
    """--steer's Steer, from the weights given; None without --steer."""
    if args.steer is None:
        return None
    toward, against = steering_ids(args, tok)
    at = config.n_layer // 2 if args.steer_at is None else args.steer_at
    return steering(toward, against, at, args.steer_coef, params, config)


def window_tools(args):
    """The options given that read the prompt as one window of at most n_ctx tokens (the parser marks them)."""
    return list(args.reading) + (["--ablate-with mean"] if args.ablate_with == "mean" else [])


def follows(args):
    """Whether an experiment asked for follows a token (its metric is that token's probability or logit): one the
    parser marks with arguments.follows."""
    return bool(args.following)


def followed(args, tok, logits):
    """(target, versus): the tokens the experiments marked arguments.follows follow, decided here alone, from the
    logits after the prompt of the run itself, with its heads removed and its steering added. The target is
    --target's (or --target-id's) token, else the model's greedy next token; versus is --versus's token, or None.
    A versus that is the target is a UsageError: every difference would be 0. With --self-repair, logits are those
    of the run with every head: the question is what became of its answer."""
    target = (tok.encode(args.target)[0] if args.target is not None else args.target_id if args.target_id is not None
              else int(np.argmax(logits)))
    versus = tok.encode(args.versus)[0] if args.versus is not None else None
    if versus == target:
        how = "" if args.target is not None or args.target_id is not None else ", the model's next token after the prompt"
        raise UsageError(f"--versus must be another token than the target: {quoted(args.versus)} is the target{how}")
    return target, versus


def positions(args, ids):
    """The positions --patch puts things back at: --patch-positions, or all of them."""
    return list(range(len(ids)))[args.patch_positions or slice(None)]


def needs_probe(args):
    return "probe" in args.reading.values()


def run_instruments(args, ids, params, config, tok, steer=None, progress=lambda steps, what: steps, plain=None,
                    clean=None):
    """(what the tools and experiments add to --json, the probe of the prompt or None if none needs it). ids: the
    prompt, at most n_ctx tokens; params: with the ablated heads already removed; steer: --steer's Steer, or None.
    progress wraps the long loops. plain: the weights with every head, and clean their probe (main.chain makes it
    for --ablate-with mean and --self-repair, which compares the two runs)."""
    seen = probe(ids, params, config, steer) if needs_probe(args) else None
    if seen is not None:
        computed(seen.logits, "the prompt's logits")
    extra = {}
    if args.tokens:
        extra["tokens"] = [row._asdict() for row in describe(ids, tok)]
    if args.bpe:
        extra["bpe"] = bpe_work(args.prompt, tok)
    if args.trace:
        extra["trace"] = trace(ids, params, config, steer)
    if steer is not None:
        extra["steer"] = {"toward": args.steer, "against": args.steer_against, "at": steer.at, "coef": args.steer_coef,
                          "positions": len(steer.add)}
    if args.lens:
        extra["lens"] = logit_lens(seen, params, config, tok)
    if args.ablate:
        extra["ablate"] = [list(h) for h in args.ablate]
        extra["ablate_with"] = args.ablate_with or "zero"
    if args.heads:
        sequence, period, scores = head_scores(seen, params, config, tok.eos_id)
        extra["heads"] = {"sequence": sequence, "period": period, "scores": [s._asdict() for s in scores]}
    if args.copying:
        extra["copying"] = {"k": 5, "scores": [row._asdict() for row in copying_scores(ids, seen, params, config)]}
    if follows(args):
        target, versus = followed(args, tok, (clean or seen).logits[-1])
        metric = {"target": target, "versus": versus}  # every experiment's object names the token it follows
    if args.attribute:
        logit, parts = attribute(seen, target, params, config, versus)
        extra["attribute"] = {**metric, "logit": logit, "parts": parts}
    if args.patch is not None:
        corrupted = probe(tok.encode(args.patch) or [tok.eos_id], params, config, steer)
        computed(corrupted.logits, "the corrupted prompt's logits")
        asked = args.patch_at or ([] if args.path or args.edges else ["resid"])  # --path or --edges alone: no grid
        kinds = [kind for kind in KINDS if kind in asked]
        exact = [] if args.estimate_only else kinds  # --estimate-only: the two runs' metrics, no exact grid
        extra["patch"] = patching(seen, corrupted, target, versus, exact, positions(args, ids), params, config,
                                  progress)
        if args.attribution_patching:
            extra["attribution_patching"] = {**metric, **attribution_patching(seen, corrupted, target, versus, kinds,
                                                                              positions(args, ids), params, config)}
        if args.edges:
            extra["edges"] = edges(seen, corrupted, target, versus, params, config)
        if args.path:
            grid = path_grid(args.path, seen, corrupted, measure(target, versus, params, config), params, config,
                             lambda steps: progress(steps, "path"))
            extra["path"] = {**metric, "receiver": args.path if args.path == "logits" else list(args.path), "grid": grid}
    if args.saliency:
        extra["saliency"] = {"metric": "log probability" if versus is None else "logit difference", **metric,
                             "scores": saliency(seen, target, versus, params, config)}
    if args.why_attends is not None:
        extra["why_attends"] = why_attends(seen, params, config, *args.why_attends, args.why_query, args.why_key)._asdict()
    if args.self_repair:
        extra["self_repair"] = self_repair(clean, seen, plain, params, config, target, versus)._asdict()
    return extra, seen


def print_instruments(args, extra, seen, ids, params, config, tok, steer=None):
    """What the terminal shows of the tools and experiments asked for (extra and seen: run_instruments())."""
    labels = [row.text for row in describe(ids, tok)]
    if args.tokens:
        print_tokens(extra["tokens"])
    if args.bpe:
        print_bpe(extra["bpe"])
    if args.trace:
        print_trace(extra["trace"], config)
    if args.lens:
        print_lens(extra["lens"])
    if args.attention:
        note = write_svg(args.attention, seen.attention, labels, f"{args.model}: {args.prompt[:80]!r}")
        if note:
            print(note, file=sys.stderr)
        print("\n".join(summary(seen.attention, labels)) + f"\nwrote {args.attention}\n")
    if args.ablate:
        names = ", ".join(f"{b}.{h}" for b, h in args.ablate)
        instead = "its mean output over the prompt" if args.ablate_with == "mean" else "nothing"
        print(f"ablated: head {names} writes" if len(args.ablate) == 1 else f"ablated: heads {names} write",
              f"{instead} into the residual stream, in every forward pass of this run\n")
    if args.heads:
        print_heads([HeadScores(**s) for s in extra["heads"]["scores"]], extra["heads"]["period"])
    if args.copying:
        print_copying([CopyingRow(**row) for row in extra["copying"]["scores"]])
    experiment = next((part for part in extra.values() if isinstance(part, dict) and "target" in part), None)  # all follow one token
    if experiment:
        target = token_text(tok, experiment["target"])
        versus = None if experiment["versus"] is None else token_text(tok, experiment["versus"])
    if args.attribute:
        print_attribution(extra["attribute"]["logit"], extra["attribute"]["parts"], target, versus)
    if args.patch is not None:
        print_patch(extra["patch"], labels, target, versus)
    if args.path:
        print_path(extra["path"], extra["patch"], target, versus)
    if args.attribution_patching:
        print_attribution_patching(extra["attribution_patching"], extra["patch"],
                                   [kind for kind in KINDS if kind in extra["attribution_patching"]], labels)
    if args.edges:
        print_edges(extra["edges"], target, versus)
    if args.saliency:
        print_saliency(extra["saliency"]["scores"], labels, target, versus)
    if args.why_attends is not None:
        print_why_attends(WhyAttends(**extra["why_attends"]), labels)
    if args.self_repair:
        print_self_repair(SelfRepair(**extra["self_repair"]), [f"{b}.{h}" for b, h in args.ablate], target, versus)


def write_page(run, model, progress=lambda steps, what: steps):
    """--report: the page of one run (main.Run), written to its --report file."""
    command = shlex.join([typed_command("main.py")] + sys.argv[1:])  # as the user typed it
    write_report(run.args.report, page_data(run, model, command, asked=Asked(progress=progress)))
    print(f"wrote {run.args.report}", file=sys.stderr)
