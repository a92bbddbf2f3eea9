"""--report FILE.html: one page to explore a run in a browser, offline.

This module only formats: data.py gathers the numbers (the probe's attention, the logit lens at
every layer and position, the experiments) and hands them over as one dict, which is embedded in the
page as JSON. The page is page.html, page.css and the scripts of js/ beside this file, put together into one file;
it draws the data with plain JavaScript and makes no network request of any kind, so it works from
file:// and can be mailed around. The live page of --serve is the same page, its data asked of the server. Floats are rounded to what the eye can see
(attention weights and probabilities to 3 decimals), so the file stays small.

Long prompts: the attention maps grow with n_layer * n_head * n_seq^2. Per-head maps are kept while
they fit in MAP_BUDGET numbers; beyond that only each block's average over heads, and beyond that the
average over the last positions only. The page says what it left out.

A URL fragment selects what is shown, so a link (or a test) can point at one cell:
    cat.html#block=2&head=5&cell=20,3    block 2, head 5 ("head=avg" for the average), row 20, column 3
"""
import json
import os
import re

import numpy as np

from plumbing.files import write_text

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


PAGE = os.path.dirname(os.path.abspath(__file__))  # page.html, page.css and js/, beside this file
# The page's scripts, in js/, in the order they are joined: plain scripts, one after the other in one <script>
# element, since Chromium runs no module from file://. "views" stands for every file of js/views/ (sections.js's
# SECTIONS names what each draws); live.js, last, starts the page.
SCRIPTS = ("base", "tokens", "maps", "sections", "views", "drawing", "panel", "form", "server", "live")


def script():
    """The page's JavaScript: js/'s files joined in SCRIPTS' order."""
    views = os.path.join(PAGE, "js", "views")
    names = [os.path.join("views", f) for f in sorted(os.listdir(views)) if f.endswith(".js")]
    paths = [os.path.join(PAGE, "js", name) for part in SCRIPTS for name in (names if part == "views" else [f"{part}.js"])]
    return "\n".join(open(path, encoding="utf-8").read() for path in paths)


def script_json(data):
    """data as JSON that can stand inside a <script> element, whatever its texts hold: with no "<" at all, no
    text can end the element ("</script") or switch the parser into its escaped state ("<!--", "<script")."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def page(data):
    """The whole HTML file, one file with its style, script and data inside. data: see explain.page_data."""
    parts = {name: open(os.path.join(PAGE, f"page.{name.lower()}"), encoding="utf-8").read() for name in ("HTML", "CSS")}
    parts["JS"] = script()
    assert "</script" not in parts["JS"] and "<!--" not in parts["JS"], "the script must not end its own element"
    inside = {"STYLE": parts["CSS"], "SCRIPT": parts["JS"], "DATA": script_json(data)}
    return re.sub(r"/\*(STYLE|SCRIPT|DATA)\*/", lambda m: inside[m[1]], parts["HTML"])  # one pass: nothing inserted is read again


def write_report(path, data):
    write_text(path, page(data))  # whole or not at all
