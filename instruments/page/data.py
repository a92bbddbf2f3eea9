"""What the page shows of a run: the --json object, and the numbers only a page can show (each block's
attention, the logit lens at every position, the likeliest tokens of each step, the tokens' bytes).

--report embeds it in the page (report.py); the live server sends it after each run (server.py). Floats are
rounded to what the eye can see (attention weights and probabilities to 3 decimals), so a page stays small.

Long prompts: the attention maps grow with n_layer * n_head * n_seq^2. Per-head maps are kept while they fit in
MAP_BUDGET numbers; beyond that only each block's average over heads, and beyond that the average over the last
positions only. The page says what it left out.
"""
from typing import Callable, NamedTuple

import numpy as np

from generate import generate
from instruments.head_roles import ROLES
from instruments.logit_lens import lens_grid, logit_lens
from instruments.page import anatomy
from instruments.patch import BY_POSITION, KINDS, PUT_BACK
from instruments.probe import probe
from instruments.steer import naive_step
from instruments.token_view import describe, token_bytes, token_text
from lessons.kv_cache import cached_step
from lessons.sampling import within
from model import forward
from plumbing.watch import stopping
from tensor_ops import softmax

class Asked(NamedTuple):
    """How a page is asked for: by the live server (live), with the long loop wrapped (progress, as instruments'
    are), and with the logit lens at every position or without it (lens=False: "lens" is None, and the live page
    asks for it when its section is opened, lens_data)."""
    live: bool = False
    progress: Callable = lambda steps, what: steps
    lens: bool = True


def page_data(run, model, command, watch=(), asked=Asked()):
    """What the page shows of a run (main.Run). "watched" holds the probability after the prompt of the model's next
    token, of the tokens the experiments follow, and of watch's ids, and "watched_logits" their logits (the live
    page compares them with and without the heads it removed, in the experiments' metric)."""
    config, tok, args, report = model.config, model.tok, run.args, run.report
    seen = probed(run, model)
    maps, note = attention_maps(seen.attention, config.n_head)
    lens = lens_data(seen, run, model, asked.progress) if asked.lens else {"lens": None, "texts": {}}
    followed = [part[key] for part in report.values() if isinstance(part, dict) and "target" in part
                for key in ("target", "versus") if part[key] is not None]  # every experiment names what it follows
    probs = softmax(seen.logits[-1])  # [vocab_size]: the next token after the prompt
    next_id = int(np.argmax(probs))
    likeliest = [int(i) for i in np.argsort(probs)[::-1][:5]]
    guesses = report.get("lens") or logit_lens(seen, run.params, config, tok)  # each layer's top token at the last position
    referenced = ({next_id, *watch, *followed, *likeliest, *(row.id for row in guesses)}
                  | {top.id for step in run.steps for top in step})
    generated = report.get("generated_ids", [])
    return {
        "live": asked.live, "model": args.model, "prompt": args.prompt, "command": command,
        "config": {k: getattr(config, k) for k in ("n_layer", "n_head", "n_embd", "n_ctx", "vocab_size")},
        "tokens": token_rows(run.window, tok), "generated": token_rows(generated, tok) if generated else [],
        "unsteered": args.prompt + tok.decode(unsteered(run, model)) if run.steer and "text" in report else None,
        "top": rounded(run.steps, 3), "attention": maps,
        "lens": lens["lens"],
        "texts": {**{int(i): token_text(tok, i) for i in sorted(referenced)}, **lens["texts"]},  # as the terminal prints them
        "left_out": [note] if note else [], "json": rounded(shown(report)),
        "roles": [[field, role, meaning] for field, role, meaning in ROLES],  # --heads: each score's name in "scores"
        "patch_kinds": [[kind, kind, PUT_BACK[kind], kind in BY_POSITION] for kind in KINDS],  # --patch-at
        "anatomy": {"stages": anatomy.CODE, "values": anatomy.values(seen, run.params, config),
                    "top": [[i, float(probs[i]), float(seen.logits[-1][i])] for i in likeliest],
                    "guesses": [[row.id, round(row.probability, 3)] for row in guesses]},
        "next_id": next_id, **watched(seen.logits[-1], {next_id, *followed, *watch}),
    }


EDGES_SHOWN = 100  # the page's graph shows at most this many of --edges' (all of them: 36,000 on GPT-2 124M)


def shown(report):
    """The run's --json object as the page holds it: --edges' strongest EDGES_SHOWN only, with their count."""
    if "edges" not in report:
        return report
    edges = report["edges"]
    return {**report, "edges": {**edges, "edges": edges["edges"][:EDGES_SHOWN], "count": len(edges["edges"])}}


def probed(run, model):
    """The probe of the run's prompt: the one a tool made (run.seen), or a new one where none needed it."""
    return run.seen if run.seen is not None else probe(run.window, run.params, model.config, run.steer)


def lens_data(seen, run, model, progress=lambda steps, what: steps):
    """The logit lens at every position of the prompt (seen: its probe) and the texts of its tokens:
    {"lens": {"ids", "probs" in thousandths}, "texts"}."""
    ids, probs = lens_grid(seen, run.params, model.config,
                           progress=lambda steps: progress(steps, "the logit lens for the page"))
    return {"lens": {"ids": ids.tolist(), "probs": np.rint(probs * 1000).astype(int).tolist()},
            "texts": {int(i): token_text(model.tok, i) for i in sorted(set(ids.ravel().tolist()))}}


def watched(logits, ids):
    """{"watched": the probabilities of ids, "watched_logits": their logits}, from the last position's logits."""
    probs = softmax(logits)
    return {"watched": {int(i): float(probs[i]) for i in ids}, "watched_logits": {int(i): float(logits[i]) for i in ids}}


def answer_data(run, model, watch=()):
    """What a click needs first, before the page's tables: the continuation, and the probabilities and logits after
    the prompt of the model's next token and of watch's ids (one more forward pass, at the last position)."""
    config, tok, report = model.config, model.tok, run.report
    logits = (naive_step(run.params, config, run.steer)(run.window) if run.steer is not None
              else forward(run.window, run.params, config, last_only=True)[-1])
    next_id = int(np.argmax(logits))
    generated = report.get("generated_ids", [])
    return {"prompt": run.args.prompt, "json": {"text": report["text"]} if "text" in report else {},
            "generated": token_rows(generated, tok) if generated else [], "next_id": next_id,
            **watched(logits, {next_id, *watch}), "texts": {int(i): token_text(tok, i) for i in {next_id, *watch}}}


def token_rows(ids, tok):
    """[id, vocab.json entry, text shown, bytes in hex] per token."""
    return [[row.id, row.entry, row.text, token_bytes(tok, row.id).hex(" ")] for row in describe(ids, tok)]


def unsteered(run, model):
    """With --steer, the continuation of the model without it (the same weights, the same sampling and seed, the KV
    cache if the run had it), for the page to show beside the steered one. Stop ends it between tokens too."""
    args, tok = run.args, model.tok
    step = cached_step(run.params, model.config, len(run.window) + args.max_new_tokens) if args.kv_cache else None
    return list(stopping(generate(run.window, run.params, model.config, args.max_new_tokens, within(run.chooser(), tok),
                                  stop_id=None if args.ignore_eos else tok.eos_id, sliding_window=args.sliding_window,
                                  next_logits=step)))


# ---- the attention maps as the page keeps them ----

MAP_BUDGET = 1_500_000  # attention weights kept in the page, at most (about 4 MB of JSON)


def thousandths(weights):
    """Attention weights [.., n, n] -> the lower triangle, row by row, in thousandths (ints)."""
    rows, cols = np.tril_indices(weights.shape[-1])
    return np.rint(weights[..., rows, cols] * 1000).astype(int).tolist()


def head_map(attention, n_block, head, first):
    """One head's map, as attention_maps keeps them (from position first on), for the live page to ask for when the
    page's data held only each block's average."""
    return thousandths(attention[n_block][head][first:, first:])


SMALL = 96  # a small map's side, at most: a long prompt's positions are taken in that many groups


def small_maps(attention, n_block, first):
    """Every head of a block, small, for a prompt too long to keep them all (from position first on): each cell is
    the largest weight of its group of query positions on its group of key positions, so that one sharp weight (a
    previous-token head's diagonal) still shows. {"maps": one triangle per head as thousandths does, "starts": the
    first position of each group, counted from first}."""
    n = attention[n_block].shape[-1] - first
    starts = np.unique(np.linspace(0, n, min(SMALL, n), endpoint=False).astype(int))  # [groups]
    weights = attention[n_block][:, first:, first:]  # [n_head, n, n]
    pooled = np.maximum.reduceat(np.maximum.reduceat(weights, starts, axis=1), starts, axis=2)  # [n_head, groups, groups]
    return {"maps": thousandths(pooled), "starts": starts.tolist()}


def attention_maps(attention, n_head):
    """What the page draws of n_layer arrays [n_head, n_seq, n_seq], and a sentence on what was left out."""
    n_seq = attention[0].shape[-1]
    triangle = n_seq * (n_seq + 1) // 2
    if len(attention) * n_head * triangle <= MAP_BUDGET:
        return {"first": 0, "per_head": True, "maps": [thousandths(w) for w in attention]}, None
    shown = n_seq
    while len(attention) * shown * (shown + 1) // 2 > MAP_BUDGET:
        shown -= 1
    first = n_seq - shown
    maps = [[thousandths(w.mean(axis=0)[first:, first:])] for w in attention]
    note = f"attention: only each block's average over its {n_head} heads is kept (per-head maps of {n_seq} positions would be too large)"
    if first:
        note += (f", for the last {shown} positions attending to the last {shown}: weights on the first {first} "
                 "positions are left out, so a row may add up to less than 1")
    return {"first": first, "per_head": False, "maps": maps}, note


def rounded(value, digits=4):
    """Every float in a JSON-like value rounded, for the page's size; NaN and infinities become null."""
    if isinstance(value, float):
        return round(value, digits) if np.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    return value
