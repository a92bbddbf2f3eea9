"""--report FILE.html: one page to explore a run in a browser, offline.

This module only formats: explain.py gathers the numbers (the probe's attention, the logit lens at
every layer and position, the experiments) and hands them over as one dict, which is embedded in the
page as JSON. The page draws it with a little plain JavaScript; it makes no network request of any
kind, so it works from file:// and can be mailed around. Floats are rounded to what the eye can see
(attention weights and probabilities to 3 decimals), so the file stays small.

Long prompts: the attention maps grow with n_layer * n_head * n_seq^2. Per-head maps are kept while
they fit in MAP_BUDGET numbers; beyond that only each block's average over heads, and beyond that the
average over the last positions only. The page says what it left out.

A URL fragment selects what is shown, so a link (or a test) can point at one cell:
    cat.html#block=2&head=5&cell=20,3    block 2, head 5 ("head=avg" for the average), row 20, column 3
"""
import json

import numpy as np

from plumbing.files import write_text

MAP_BUDGET = 1_500_000  # attention weights kept in the page, at most (about 4 MB of JSON)


def thousandths(weights):
    """Attention weights [.., n, n] -> the lower triangle, row by row, in thousandths (ints)."""
    rows, cols = np.tril_indices(weights.shape[-1])
    return np.rint(weights[..., rows, cols] * 1000).astype(int).tolist()


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


def page(data):
    """The whole HTML file. data: see explain.page_data."""
    embedded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return TEMPLATE.replace("/*DATA*/", embedded)


def write_report(path, data):
    write_text(path, page(data))  # whole or not at all


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>numpy-gpt2 report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.how { color: #555; max-width: 60em; }
code, .tok, td { font-family: ui-monospace, monospace; font-size: 12px; }
.tok { display: inline-block; border: 1px solid #bbb; border-radius: 3px; padding: 0 3px; margin: 1px; white-space: pre; background: #f6f6f6; }
.tok.new { background: #e6f2e6; }
.tok.sel { outline: 2px solid #c60; }
.scroll { overflow: auto; max-height: 70vh; border: 1px solid #eee; }
table { border-collapse: collapse; } td, th { border: 1px solid #eee; padding: 1px 4px; white-space: pre; }
th { font-weight: normal; color: #555; background: #fafafa; position: sticky; top: 0; }
th.row { position: sticky; left: 0; }
#controls button { min-width: 2.2em; } #readout { display: inline-block; min-width: 30em; margin-left: 1em; font-family: ui-monospace, monospace; }
.bar { display: inline-block; height: 12px; vertical-align: middle; }
.note { color: #a50; }
code.long { display: block; max-height: 4.5em; overflow: auto; }
#cursor { position: absolute; border: 2px solid #c60; pointer-events: none; display: none; } #errors { color: #c00; white-space: pre; }
</style></head>
<body>
<div id="errors"></div>
<h1>What GPT-2 computed</h1>
<div id="meta"></div>
<h2>The prompt, as tokens</h2>
<p class="how">Each box is one token, as GPT-2 reads it. Hover for its id, its entry in vocab.json and its bytes. A green box is a token the model generated.</p>
<div id="tokens"></div>
<div id="steps"></div>
<h2>Attention</h2>
<p class="how">Row <i>t</i> is a position of the prompt; each cell in it is how much of that position's attention went to the position of its column. Each row adds up to 1. Cells right of the diagonal are the future, which the causal mask hides (hatched grey). Hover a cell for its weight. Keys: &larr; &rarr; change the head, &uarr; &darr; the block.</p>
<div id="controls"></div>
<div class="scroll" style="position: relative"><canvas id="map"></canvas><div id="cursor"></div></div>
<h2>Logit lens</h2>
<p class="how">What the model would predict if it stopped at each layer: the residual stream read through the final LayerNorm and the output projection. Row 0 is the embeddings' output, row <i>i</i> the stream after block <i>i</i>&minus;1; the last row is the model's own prediction. Each cell shows the top token at that position, shaded by its probability; hover for the top 5.</p>
<div class="scroll" id="lens"></div>
<div id="experiments"></div>
<script type="application/json" id="data">/*DATA*/</script>
<script>
"use strict";
window.onerror = function (message, source, line) {
  document.getElementById("errors").textContent += "JavaScript error: " + message + " (line " + line + ")\\n";
};
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const shade = (p, rgb) => `rgba(${rgb || "8,48,107"},${Math.max(0, Math.min(1, p)).toFixed(3)})`;
const ink = (p) => (p > 0.55 ? "#fff" : "#222");
const label = (t) => t[2];

function meta() {
  const m = $("meta");
  m.appendChild(el("p", {}, `Checkpoint: ${D.model} (n_layer ${D.config.n_layer}, n_head ${D.config.n_head}, n_embd ${D.config.n_embd}, n_ctx ${D.config.n_ctx}, vocab_size ${D.config.vocab_size})`));
  m.appendChild(el("p", {}, "Made by: ")).appendChild(el("code", {class: "long"}, D.command));
  m.appendChild(el("p", {}, "Prompt: ")).appendChild(el("code", {class: "long"}, JSON.stringify(D.prompt)));
  for (const note of D.left_out) m.appendChild(el("p", {class: "note"}, "Left out: " + note));
}

function tokens() {
  const box = $("tokens");
  const add = (t, i, cls) => box.appendChild(el("span", {class: cls, "data-i": i,
      title: `#${i}  id ${t[0]}  vocab.json ${t[1]}  bytes ${t[3]}`}, label(t)));
  D.tokens.forEach((t, i) => add(t, i, "tok"));
  D.generated.forEach((t, i) => add(t, D.tokens.length + i, "tok new"));
  if (!D.top.length) return;
  const s = $("steps");
  s.appendChild(el("p", {class: "how"}, `At each generated step, the ${D.top[0].length} likeliest next tokens (the model's probabilities) and, in bold, the one chosen.`));
  const table = el("table");
  D.top.forEach((step, i) => {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, `step ${i + 1}`));
    for (const [id, , p] of step) {
      const td = tr.appendChild(el("td", {style: `background:${shade(p)};color:${ink(p)}`}, `${D.texts[id]} ${p.toFixed(3)}`));
      if (D.generated[i] && id === D.generated[i][0]) td.style.fontWeight = "bold";
    }
  });
  s.appendChild(table);
}

const A = D.attention;
const view = {block: 0, head: A.per_head ? 0 : -1, cell: null};

function weight(block, head, row, col) {
  // the map's lower triangle, row by row: row r starts at r * (r + 1) / 2
  const maps = head < 0 ? A.maps[block] : [A.maps[block][head]];
  let sum = 0;
  for (const m of maps) sum += m[row * (row + 1) / 2 + col];
  return sum / maps.length / 1000;
}

function controls() {
  const c = $("controls");
  c.innerHTML = "";
  const select = (name, options, value, onchange) => {
    const s = el("select", {id: name});
    options.forEach(([v, text]) => { const o = el("option", {value: v}, text); if (v === value) o.selected = true; s.appendChild(o); });
    s.onchange = () => onchange(Number(s.value));
    c.appendChild(el("label", {}, ` ${name} `)).appendChild(s);
  };
  select("block", [...Array(D.config.n_layer).keys()].map((b) => [b, String(b)]), view.block, (b) => show(b, view.head));
  const heads = [[-1, "average of the heads"]];
  if (A.per_head) for (let h = 0; h < D.config.n_head; h++) heads.push([h, String(h)]);
  select("head", heads, view.head, (h) => show(view.block, h));
  const button = (text, fn) => { const b = el("button", {}, text); b.onclick = fn; c.appendChild(b); };
  button("\\u2190 head", () => step(0, -1));
  button("head \\u2192", () => step(0, 1));
  button("\\u2191 block", () => step(-1, 0));
  button("block \\u2193", () => step(1, 0));
  c.appendChild(el("span", {id: "readout"}, "hover a cell"));
}

function step(db, dh) {
  const last = A.per_head ? D.config.n_head - 1 : -1;  // -1 is the average of the heads
  let h = view.head + dh;
  if (h > last) h = -1;
  if (h < -1) h = last;
  const b = (view.block + db + D.config.n_layer) % D.config.n_layer;
  show(b, h);
}

function show(block, head) {
  view.block = block;
  view.head = head;
  controls();
  draw();
  location.replace("#block=" + block + "&head=" + (head < 0 ? "avg" : head) + (view.cell ? "&cell=" + view.cell : ""));
}

const positions = () => D.tokens.slice(A.first);
function geometry() {
  const n = positions().length;
  const cell = Math.max(2, Math.min(22, Math.floor(900 / n)));
  const margin = n <= 80 ? 120 : 10;
  return {n, cell, margin};
}

function draw() {
  const {n, cell, margin} = geometry();
  const canvas = $("map"), g = canvas.getContext("2d");
  canvas.width = margin + n * cell + 10;
  canvas.height = margin + n * cell + 10;
  g.font = "11px monospace";
  const labels = positions().map(label);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (c > r) { g.fillStyle = (r + c) % 2 ? "#ddd" : "#e9e9e9"; }
      else { g.fillStyle = shade(weight(view.block, view.head, r, c)); }
      g.fillRect(margin + c * cell, margin + r * cell, cell, cell);
    }
  }
  if (margin > 10) {
    g.fillStyle = "#222";
    g.textAlign = "right";
    labels.forEach((t, i) => g.fillText(t.slice(0, 16), margin - 4, margin + i * cell + cell * 0.75));
    labels.forEach((t, i) => { g.save(); g.translate(margin + i * cell + cell * 0.75, margin - 4); g.rotate(-Math.PI / 3);
      g.textAlign = "left"; g.fillText(t.slice(0, 16), 0, 0); g.restore(); });
  }
  if (view.cell) readout(...view.cell.split(",").map(Number));
}

function readout(row, col) {
  const labels = positions().map(label);
  const {cell, margin} = geometry(), box = $("cursor");
  Object.assign(box.style, {display: "block", left: `${margin + col * cell - 2}px`, top: `${margin + row * cell - 2}px`,
                            width: `${cell}px`, height: `${cell}px`});
  const text = col > row ? `${labels[row]} -> ${labels[col]}: masked (the future)`
    : `block ${view.block}, ${view.head < 0 ? "average of the heads" : "head " + view.head}: row ${row + A.first} ${labels[row]} -> column ${col + A.first} ${labels[col]}: ${weight(view.block, view.head, row, col).toFixed(3)}`;
  $("readout").textContent = text;
}

$("map").addEventListener("mousemove", (e) => {
  const {n, cell, margin} = geometry();
  const rect = e.target.getBoundingClientRect();
  const c = Math.floor((e.clientX - rect.left - margin) / cell), r = Math.floor((e.clientY - rect.top - margin) / cell);
  if (r >= 0 && c >= 0 && r < n && c < n) { view.cell = `${r},${c}`; readout(r, c); }
});
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "SELECT") return;
  const moves = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0]};
  if (moves[e.key]) { e.preventDefault(); step(...moves[e.key]); }
});

function lens() {
  const table = el("table", {id: "lens-table"});
  const head = table.appendChild(el("tr"));
  head.appendChild(el("th", {class: "row"}, "layer"));
  D.tokens.forEach((t) => head.appendChild(el("th", {}, label(t))));
  D.lens.ids.forEach((row, layer) => {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, layer === 0 ? "0 embeddings" : `${layer} after block ${layer - 1}`));
    row.forEach((ids, t) => {
      const probs = D.lens.probs[layer][t];
      const p = probs[0] / 1000;
      const top = ids.map((id, k) => `${D.texts[id]} ${(probs[k] / 1000).toFixed(3)}`).join("\\n");
      tr.appendChild(el("td", {"data-layer": layer, "data-position": t, "data-id": ids[0], title: top,
        style: `background:${shade(p)};color:${ink(p)}`}, D.texts[ids[0]]));
    });
  });
  $("lens").appendChild(table);
}

function section(title, how) {
  const box = $("experiments");
  box.appendChild(el("h2", {}, title));
  box.appendChild(el("p", {class: "how"}, how));
  return box;
}

function experiments() {
  const J = D.json, text = (id) => D.texts[id];
  if (J.ablate) section("Ablation", "Every number on this page was computed with these heads removed (their output set to zero): " +
      J.ablate.map(([b, h]) => `${b}.${h}`).join(", ") + ". Compare with a run without --ablate.");
  if (J.heads) {
    const box = section("Head roles", `Three scores per head, each between 0 and 1: previous-token (position t looks at t-1), first-token (t looks at position 0) and induction (on ${J.heads.period} random tokens repeated, t looks at the token after t's earlier occurrence). A dark cell is a head that does that one thing.`);
    ["previous-token", "first-token", "induction"].forEach((role, k) => {
      box.appendChild(el("p", {}, role));
      const table = box.appendChild(el("table", {class: "heads", "data-role": role}));
      const top = table.appendChild(el("tr"));
      top.appendChild(el("th", {class: "row"}, "block \\\\ head"));
      for (let h = 0; h < D.config.n_head; h++) top.appendChild(el("th", {}, String(h)));
      for (let b = 0; b < D.config.n_layer; b++) {
        const tr = table.appendChild(el("tr"));
        tr.appendChild(el("th", {class: "row"}, String(b)));
        for (let h = 0; h < D.config.n_head; h++) {
          const s = J.heads.scores[b * D.config.n_head + h][2 + k];
          tr.appendChild(el("td", {title: `head ${b}.${h}`, style: `background:${shade(s)};color:${ink(s)}`}, s.toFixed(2)));
        }
      }
    });
  }
  if (J.attribution) {
    const A2 = J.attribution;
    const box = section("Direct logit attribution", `The logit of ${text(A2.target)} (${A2.logit.toFixed(3)}) split into what each part of the network added to the final residual stream, with the final LayerNorm's scale frozen. Green bars pushed the token up, red ones down. The 20 largest parts:`);
    const parts = [...A2.parts].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 20);
    const biggest = Math.max(...parts.map((p) => Math.abs(p[1]))) || 1;
    const table = box.appendChild(el("table", {id: "attribution"}));
    for (const [name, value] of parts) {
      const tr = table.appendChild(el("tr"));
      tr.appendChild(el("th", {class: "row"}, name));
      tr.appendChild(el("td", {}, value.toFixed(3)));
      const bar = tr.appendChild(el("td")).appendChild(el("span", {class: "bar"}));
      bar.style.width = `${Math.round(Math.abs(value) / biggest * 300)}px`;
      bar.style.background = value > 0 ? "#2a2" : "#c33";
    }
    box.appendChild(el("p", {}, `All ${A2.parts.length} parts add up to ${A2.parts.reduce((s, p) => s + p[1], 0).toFixed(3)}.`));
  }
  if (J.patch) {
    const P = J.patch;
    const box = section("Activation patching", `P(${text(P.target)}) is ${P.clean.toFixed(3)} for the prompt and ${P.corrupted.toFixed(3)} for the corrupted prompt. Each cell: the corrupted run with the prompt's residual stream put in at that layer (row) and position (column). Dark: the probability came back, so at that point the difference the model needed sat in that one vector. Hover for the probability.`);
    const table = box.appendChild(el("table", {id: "patch"}));
    const top = table.appendChild(el("tr"));
    top.appendChild(el("th", {class: "row"}, "layer"));
    D.tokens.forEach((t) => top.appendChild(el("th", {}, label(t))));
    const span = (P.clean - P.corrupted) || 1;
    P.grid.forEach((row, layer) => {
      const tr = table.appendChild(el("tr"));
      tr.appendChild(el("th", {class: "row"}, String(layer)));
      row.forEach((p) => { const x = (p - P.corrupted) / span;
        tr.appendChild(el("td", {title: p.toFixed(4), style: `background:${shade(x)};color:${ink(x)}`}, p.toFixed(2))); });
    });
  }
}

function fromFragment() {
  const f = new URLSearchParams(location.hash.slice(1));
  const block = Number(f.get("block") || 0), head = f.get("head");
  view.cell = f.get("cell");
  show(Math.min(Math.max(block, 0), D.config.n_layer - 1),
       head === null ? view.head : head === "avg" || !A.per_head ? -1 : Math.min(Number(head), D.config.n_head - 1));
}

meta();
tokens();
fromFragment();
lens();
experiments();
document.body.setAttribute("data-ready", "yes");
</script>
</body></html>
"""
