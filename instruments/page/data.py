"""What the page shows of a run: the --json object, and the numbers only a page can show (each block's
attention, the logit lens at every position, the likeliest tokens of each step, the tokens' bytes).

--report embeds it in the page (report.py); the live server sends it after each run (server.py).
"""
import numpy as np

from generate import generate
from instruments.head_roles import ROLES, HeadScores
from instruments.logit_lens import lens_grid, logit_lens
from instruments.page import anatomy
from instruments.page.report import attention_maps, rounded
from instruments.patch import BY_POSITION, KINDS, PUT_BACK, json_key
from instruments.probe import probe
from instruments.steer import naive_step
from instruments.token_view import describe, token_bytes, token_text
from lessons.sampling import sampler, within
from model import forward
from tensor_ops import softmax


def page_data(args, page, model, report, command, watch=(), live=False, progress=lambda steps, what: steps,
              with_lens=True):
    """What the page shows of a run. "watched" holds the probability after the prompt of the model's next token,
    of the tokens the experiments follow, and of watch's ids, and "watched_logits" their logits (the live page
    compares them with and without the heads it removed, in the experiments' metric). progress wraps the long loop,
    as instruments' does. with_lens=False leaves the logit lens at every position out ("lens": None): the live page
    asks for it when its section is opened (lens_data)."""
    config, tok = model.config, model.tok
    seen = probed(page, model)
    maps, note = attention_maps(seen.attention, config.n_head)
    lens = lens_data(seen, page, model, progress) if with_lens else {"lens": None, "texts": {}}
    experiments_follow = [part[key] for part in (report.get("patch"), report.get("attribution"), report.get("saliency"))
                          if part for key in ("target", "versus") if part[key] is not None]
    probs = softmax(seen.logits[-1])  # [vocab_size]: the next token after the prompt
    next_id = int(np.argmax(probs))
    likeliest = [int(i) for i in np.argsort(probs)[::-1][:5]]
    guesses = logit_lens(seen, page.params, config, tok)  # the drawing's: each layer's top token at the last position
    referenced = ({next_id, *watch, *experiments_follow, *likeliest, *(row.id for row in guesses)}
                  | {top.id for step in page.steps for top in step})
    generated = report.get("generated_ids", [])
    return {
        "live": live, "model": args.model, "prompt": args.prompt, "command": command,
        "config": {k: getattr(config, k) for k in ("n_layer", "n_head", "n_embd", "n_ctx", "vocab_size")},
        "tokens": token_rows(page.window, tok), "generated": token_rows(generated, tok) if generated else [],
        "unsteered": args.prompt + tok.decode(unsteered(args, page, model)) if page.steer and "text" in report else None,
        "top": rounded(page.steps, 3), "attention": maps,
        "lens": lens["lens"],
        "texts": {**{int(i): token_text(tok, i) for i in sorted(referenced)}, **lens["texts"]},  # as the terminal prints them
        "left_out": [note] if note else [], "json": rounded(report),
        "roles": [[HeadScores._fields.index(field), role, meaning] for field, role, meaning in ROLES],  # --heads
        "patch_kinds": [[json_key(kind), kind, PUT_BACK[kind], kind in BY_POSITION] for kind in KINDS],  # --patch-at
        "anatomy": {"stages": anatomy.CODE, "values": anatomy.values(seen, page.params, config),
                    "top": [[i, float(probs[i]), float(seen.logits[-1][i])] for i in likeliest],
                    "guesses": [[row.id, round(row.probability, 3)] for row in guesses]},
        "next_id": next_id, **watched(seen.logits[-1], {next_id, *experiments_follow, *watch}),
    }


def probed(page, model):
    """The probe of the run's prompt: the one a tool made (page.seen), or a new one where none needed it."""
    return page.seen if page.seen is not None else probe(page.window, page.params, model.config, page.steer)


def lens_data(seen, page, model, progress=lambda steps, what: steps):
    """The logit lens at every position of the prompt (seen: its probe) and the texts of its tokens:
    {"lens": {"ids", "probs" in thousandths}, "texts"}."""
    ids, probs = lens_grid(seen, page.params, model.config,
                           progress=lambda steps: progress(steps, "the logit lens for the page"))
    return {"lens": {"ids": ids.tolist(), "probs": np.rint(probs * 1000).astype(int).tolist()},
            "texts": {int(i): token_text(model.tok, i) for i in sorted(set(ids.ravel().tolist()))}}


def watched(logits, ids):
    """{"watched": the probabilities of ids, "watched_logits": their logits}, from the last position's logits."""
    probs = softmax(logits)
    return {"watched": {int(i): float(probs[i]) for i in ids}, "watched_logits": {int(i): float(logits[i]) for i in ids}}


def answer_data(prompt, page, model, report, watch=()):
    """What a click needs first, before the page's tables: the continuation, and the probabilities and logits after
    the prompt of the model's next token and of watch's ids (one more forward pass, at the last position)."""
    config, tok = model.config, model.tok
    logits = (naive_step(page.params, config, page.steer)(page.window) if page.steer is not None
              else forward(page.window, page.params, config, last_only=True)[-1])
    next_id = int(np.argmax(logits))
    generated = report.get("generated_ids", [])
    return {"prompt": prompt, "json": {"text": report["text"]} if "text" in report else {},
            "generated": token_rows(generated, tok) if generated else [], "next_id": next_id,
            **watched(logits, {next_id, *watch}), "texts": {int(i): token_text(tok, i) for i in {next_id, *watch}}}


def token_rows(ids, tok):
    """[id, vocab.json entry, text shown, bytes in hex] per token."""
    return [[row.id, row.entry, row.text, token_bytes(tok, row.id).hex(" ")] for row in describe(ids, tok)]


def unsteered(args, page, model):
    """With --steer, the continuation of the model without it (the same weights, the same sampling and seed), for
    the page to show beside the steered one."""
    choose = within(sampler(args.temperature, args.top_k, args.top_p, args.seed), model.tok)
    return list(generate(page.window, page.params, model.config, args.max_new_tokens, choose,
                         stop_id=None if args.ignore_eos else model.tok.eos_id, sliding_window=args.sliding_window))
