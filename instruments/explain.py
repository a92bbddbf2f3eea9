"""The instruments on the command line: main.py's options -> what each tool prints and adds to --json.

main.py calls check() once the model is loaded (a mistake found there ends as a usage error, exit 2,
before anything is printed) and explain() before it generates or scores. The tools run in the order
a reader would ask: how is the prompt cut, what shapes flow, what does each layer predict, where
does attention look, then the experiments.
"""
import os
import shlex
import sys

import numpy as np

from instruments.ablate import check_heads
from instruments.attention_map import summary, write_svg
from instruments.attribute import attribute, print_attribution
from instruments.head_roles import head_scores, print_heads
from instruments.logit_lens import lens_grid, logit_lens, print_lens
from instruments.patch import patch_grid, print_patch
from instruments.probe import probe
from instruments.report import attention_maps, rounded, write_report
from instruments.shape_trace import print_trace, trace
from instruments.token_view import describe, print_bpe, print_tokens, shown, token_bytes
from model import forward


def check(args, ids, config, tok):
    """The first option the model makes impossible, as a sentence; None if every one is fine."""
    missing_head = check_heads(args.ablate, config)
    if missing_head:
        return missing_head
    target = tok.encode(args.target) if args.target is not None else [None]
    if len(target) != 1:
        return (f"--target must be one token; {args.target!r} is {len(target)} "
                "(see --tokens; a word usually keeps its leading space, as in ' yellow')")
    corrupted = (tok.encode(args.patch) or [tok.eos_id]) if args.patch is not None else None
    if corrupted is not None and len(corrupted) != len(ids[-config.n_ctx:]):
        return (f"--patch needs a corrupted prompt with as many tokens as the prompt: the prompt has "
                f"{len(ids[-config.n_ctx:])}, {args.patch!r} has {len(tok.encode(args.patch))}")
    if args.heads and len(ids) < 2:
        return "--heads needs a prompt of at least two tokens, to see where each position looks"
    return None


def explain(args, ids, params, config, tok):
    """Run the tools asked for on the prompt ids (at most n_ctx of them); returns what they add to --json."""
    extra = {}
    labels = [shown for _, _, shown, _ in describe(ids, tok)]
    if args.tokens:
        print_tokens(ids, tok)
    if args.bpe:
        print_bpe(args.prompt, tok)
    if args.trace:
        print_trace(trace(ids, params, config), config)
    seen = probe(ids, params, config) if args.lens or args.attention else None
    if args.lens:
        extra["lens"] = logit_lens(seen, params, config, tok)
        print_lens(extra["lens"])
    if args.attention:
        note = write_svg(args.attention, seen.attention, labels, f"{args.model}: {args.prompt[:80]!r}")
        if note:
            print(note, file=sys.stderr)
        print("\n".join(summary(seen.attention, labels)) + f"\nwrote {args.attention}\n")
    return {**extra, **experiment(args, ids, params, config, tok, labels)}


def experiment(args, ids, params, config, tok, labels):
    """The experiments asked for: --ablate (already in params: this only says so), --heads, --attribute, --patch."""
    extra = {}
    if args.ablate:
        extra["ablate"] = [list(h) for h in args.ablate]
        names = ", ".join(f"{b}.{h}" for b, h in args.ablate)
        print(f"ablated: head {names} writes" if len(args.ablate) == 1 else f"ablated: heads {names} write",
              "nothing into the residual stream, in every forward pass of this run\n")
    if args.heads:
        sequence, period, scores = head_scores(ids, params, config, tok.eos_id)
        extra["heads"] = {"sequence": sequence, "period": period, "scores": scores}
        print_heads(scores, period)
    if args.attribute or args.patch is not None:
        target = tok.encode(args.target)[0] if args.target is not None else int(np.argmax(forward(ids, params, config, last_only=True)[-1]))
    if args.attribute:
        logit, parts = attribute(ids, target, params, config)
        extra["attribution"] = {"target": target, "logit": logit, "parts": parts}
        print_attribution(logit, parts, shown(tok, target))
    if args.patch is not None:
        extra["patch"] = patch_grid(ids, tok.encode(args.patch) or [tok.eos_id], target, params, config)
        print_patch(extra["patch"], labels, shown(tok, target))
    return extra


def write_page(args, ids, params, config, tok, report):
    """--report: gather what the page shows (report is the run's --json object) and write it."""
    seen = probe(ids, params, config)
    maps, note = attention_maps(seen.attention, config.n_head)
    lens_ids, lens_probs = lens_grid(seen, params, config)
    referenced = (set(lens_ids.ravel().tolist()) | {i for step in report.get("top", []) for i, _, _ in step}
                  | {part["target"] for part in (report.get("patch"), report.get("attribution")) if part})
    generated = report.get("generated_ids", [])
    data = {
        "model": args.model, "prompt": args.prompt,
        "command": shlex.join([os.environ.get("GPT2_COMMAND", "main.py")] + sys.argv[1:]),  # as the user typed it
        "config": {k: getattr(config, k) for k in ("n_layer", "n_head", "n_embd", "n_ctx", "vocab_size")},
        "tokens": token_rows(ids, tok), "generated": token_rows(generated, tok) if generated else [],
        "top": rounded(report.get("top", []), 3), "attention": maps,
        "lens": {"ids": lens_ids.tolist(), "probs": np.rint(lens_probs * 1000).astype(int).tolist()},
        "texts": {int(i): shown(tok, i) for i in sorted(referenced)},  # as the terminal tools print them
        "left_out": [note] if note else [], "json": rounded(report),
    }
    write_report(args.report, data)
    print(f"wrote {args.report}", file=sys.stderr)


def token_rows(ids, tok):
    """[id, vocab.json entry, text shown, bytes in hex] per token."""
    return [[token_id, entry, shown, token_bytes(tok, token_id).hex(" ")]
            for token_id, entry, shown, _ in describe(ids, tok)]
