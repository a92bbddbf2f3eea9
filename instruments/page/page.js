"use strict";
// The page of --report (its data embedded below the body) and of --serve (the same page, live: its data come
// from the server's /api/page). Every text from the prompt or the model reaches the page through textContent
// or setAttribute, never as markup.
window.onerror = function (message, source, line) {
  document.getElementById("errors").textContent += "JavaScript error: " + message + " (line " + line + ")\n";
};
const $ = (id) => document.getElementById(id);
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "style") e.style.cssText = v;  // through the CSSOM: the live page's policy refuses style attributes
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}
// the palette: light, or dark when the system asks for it (prefers-color-scheme), the canvas included. Effects that
// can go either way use blue for up and orange for down, which colour-blind eyes tell apart.
const DARK = matchMedia("(prefers-color-scheme: dark)").matches;
const BLUE = DARK ? "120,170,255" : "8,48,107", ORANGE = DARK ? "253,174,97" : "179,88,6";
const PALETTE = DARK ? {text: "#ddd", future: ["#333", "#3a3a3a"], up: "#6aa8ff", down: "#fdae61"}
                     : {text: "#222", future: ["#ddd", "#e9e9e9"], up: "#1f5fa8", down: "#c8610a"};
const shade = (p, rgb) => `rgba(${rgb || BLUE},${Math.max(0, Math.min(1, p)).toFixed(3)})`;
function paint(x, rgb) {
  // a cell's style for x from -1 (orange) through 0 (the page) to 1 (blue), or on rgb: the colour mixed with the
  // page's background, and the text colour that reads best on it (by the mix's luminance, as WCAG measures it)
  const colour = (rgb || (x >= 0 ? BLUE : ORANGE)).split(",").map(Number), a = Math.max(0, Math.min(1, Math.abs(x)));
  const page = DARK ? [18, 18, 18] : [255, 255, 255];
  const mixed = colour.map((v, i) => page[i] * (1 - a) + v * a);
  const linear = mixed.map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
  const luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
  const black = (luminance + 0.05) / 0.05, white = 1.05 / (luminance + 0.05);  // contrast ratios: at least 4.58
  return `background:rgb(${mixed.map(Math.round).join(",")});color:${black > white ? "#000" : "#fff"}`;
}
const label = (t) => t[2];
const whole = (text, low, high, otherwise) => {  // a whole number from a link, or otherwise
  const n = /^-?\d+$/.test(text || "") ? Number(text) : NaN;
  return Number.isInteger(n) && n >= low && n <= high ? n : otherwise;
};

let D = JSON.parse($("data").textContent);
const LIVE = D.live;

// ---- what one run shows ----

function meta() {
  const m = $("meta");
  m.textContent = "";
  if (!D.json) return;
  m.appendChild(el("p", {}, `Checkpoint: ${D.model} (n_layer ${D.config.n_layer}, n_head ${D.config.n_head}, n_embd ${D.config.n_embd}, n_ctx ${D.config.n_ctx}, vocab_size ${D.config.vocab_size})`));
  m.appendChild(el("p", {}, LIVE ? "The same run in a terminal: " : "Made by: ")).appendChild(el("code", {class: "long", id: "command"}, D.command));
  m.appendChild(el("p", {}, "Prompt: ")).appendChild(el("code", {class: "long"}, JSON.stringify(D.prompt)));
  for (const note of D.left_out) m.appendChild(el("p", {class: "note"}, "Left out: " + note));
}

function tokens() {
  const box = $("tokens"), s = $("steps");
  box.textContent = "";
  s.textContent = "";
  const add = (t, i, cls) => box.appendChild(el("span", {class: cls, "data-i": i,
      title: `#${i}  id ${t[0]}  vocab.json ${t[1]}  bytes ${t[3]}`}, label(t)));
  D.tokens.forEach((t, i) => add(t, i, "tok"));
  D.generated.forEach((t, i) => add(t, D.tokens.length + i, "tok new"));
  if (D.json && D.json.saliency) salient(D.json.saliency.scores);
  const boxes = box.querySelectorAll(".tok:not(.new)"), kept = Array.from(boxes, (b) => b.style.cssText);
  boxes.forEach((b, i) => {  // hovered, a token colours the ones before it by how much the map's head attends to them
    if (i < D.attention.first) return;
    b.addEventListener("mouseenter", () => boxes.forEach((other, j) => {
      if (j >= D.attention.first && j <= i) other.style.cssText = paint(weight(view.block, view.head, i, j));
    }));
    b.addEventListener("mouseleave", () => boxes.forEach((other, j) => { other.style.cssText = kept[j]; }));
  });
  if (!D.top.length) return;
  s.appendChild(el("p", {class: "how"}, `At each generated step, the ${D.top[0].length} likeliest next tokens (the model's probabilities) and, in bold, the one chosen.`));
  const table = captioned(el("table"), "the likeliest next tokens at each generated step");
  D.top.forEach((step, i) => {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, `step ${i + 1}`));
    for (const [id, /* text */, p] of step) {  // TopToken: id, text, probability
      const td = tr.appendChild(el("td", {style: paint(p)}, `${D.texts[id]} ${p.toFixed(3)}`));
      if (D.generated[i] && id === D.generated[i][0]) td.style.fontWeight = "bold";
    }
  });
  s.appendChild(table);
}

function salient(scores) {
  // --saliency: each prompt token shaded by its gradient times input, blue pushing the metric up, orange down
  const biggest = Math.max(...scores.map(Math.abs)) || 1;
  const boxes = document.querySelectorAll("#tokens .tok:not(.new)");
  scores.forEach((v, i) => {
    const x = Math.abs(v) / biggest;
    boxes[i].style.cssText = paint(v / biggest);
    boxes[i].title += `  saliency ${v >= 0 ? "+" : ""}${v.toPrecision(3)}`;
    boxes[i].setAttribute("data-saliency", v);
  });
  $("steps").prepend(legend(`pushed the metric down (${(-biggest).toPrecision(3)})`, `up (+${biggest.toPrecision(3)})`, true));
  $("steps").prepend(el("p", {class: "how", id: "saliency-how"}, "Saliency (gradient times input): each prompt token is shaded by its embedding dotted with the followed metric's gradient there, the first-order share of the metric it holds; blue pushed the metric up, orange down, the stronger the more. Hover for the number."));
}

// ---- attention: one block and head at a time, on a canvas ----

const view = {block: 0, head: 0, cell: null};  // cell: [row, column] as positions of the prompt

function weight(block, head, row, col) {
  // the map's lower triangle, row by row, counted from the first position kept: row r starts at r * (r + 1) / 2
  const A = D.attention, r = row - A.first, c = col - A.first;
  const maps = head < 0 ? A.maps[block] : [headMap(block, head)];
  if (!maps[0]) return 0;  // being asked for
  let sum = 0;
  for (const m of maps) sum += m[r * (r + 1) / 2 + c];
  return sum / maps.length / 1000;
}

function headMap(block, head) {
  // a head's map: in the page's data, or, for a prompt too long for that, asked of the live server when shown
  const A = D.attention;
  if (A.per_head) return A.maps[block][head];
  A.asked = A.asked || {};
  const key = `${block}.${head}`;
  if (A.asked[key] === undefined && LIVE && D.options) {
    A.asked[key] = null;
    fromServer("/api/head", {block: block, head: head, first: A.first}).then((answer) => {
      if (!answer) return;
      A.asked[key] = answer.map;
      if (view.block === block && view.head === head) draw();
    });
  }
  return A.asked[key];
}

const perHead = () => D.attention.per_head || (LIVE && Boolean(D.options));  // every head can be shown

function controls() {
  const c = $("controls"), A = D.attention;
  c.textContent = "";
  const select = (name, options, value, onchange) => {
    const s = el("select", {id: name});
    options.forEach(([v, text]) => { const o = el("option", {value: v}, text); if (v === value) o.selected = true; s.appendChild(o); });
    s.onchange = () => onchange(Number(s.value));
    c.appendChild(el("label", {}, ` ${name} `)).appendChild(s);
  };
  select("block", [...Array(D.config.n_layer).keys()].map((b) => [b, String(b)]), view.block, (b) => show(b, view.head));
  const heads = [[-1, "average of the heads"]];
  if (perHead()) for (let h = 0; h < D.config.n_head; h++) heads.push([h, A.per_head ? String(h) : `${h} (asked of the server)`]);
  select("head", heads, view.head, (h) => show(view.block, h));
  const button = (text, fn, attrs) => { const b = el("button", {type: "button", ...attrs}, text); b.onclick = fn; return c.appendChild(b); };
  button("\u2190 head", () => step(0, -1));
  button("head \u2192", () => step(0, 1));
  button("\u2191 block", () => step(-1, 0));
  button("block \u2193", () => step(1, 0));
  if (LIVE && view.head >= 0) button(`remove head ${view.block}.${view.head}`, null, {"data-head": `${view.block}.${view.head}`, id: "remove-shown"});
  c.appendChild(el("span", {id: "readout"}, "hover a cell"));
  c.appendChild(legend("weight: 0", "1; hatched: the future, masked"));
  smallMaps();
}

function step(db, dh) {
  const last = perHead() ? D.config.n_head - 1 : -1;  // -1 is the average of the heads
  let h = view.head + dh;
  if (h > last) h = -1;
  if (h < -1) h = last;
  show((view.block + db + D.config.n_layer) % D.config.n_layer, h);
}

function show(block, head) {
  view.block = block;
  view.head = head;
  controls();
  draw();
  const cell = view.cell ? "&cell=" + view.cell.join(",") : "";
  history.replaceState(history.state, "", "#block=" + block + "&head=" + (head < 0 ? "avg" : head) + cell);  // no popstate
}

const positions = () => D.tokens.slice(D.attention.first);
function geometry() {
  const n = positions().length;
  const cell = Math.max(2, Math.min(22, Math.floor(900 / n)));
  const margin = n <= 80 ? 120 : 10;
  return {n, cell, margin};
}

function canvasOf(canvas, width, height) {
  // a canvas of this size in CSS pixels, drawn at the screen's pixel ratio (sharp at 200% zoom)
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  return g;
}

function cells(g, at, n, cell, left, top) {
  // an n x n map: at(row, column) the weight of a cell on or below the diagonal; above it, the future (hatched)
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      g.fillStyle = c > r ? PALETTE.future[(r + c) % 2 ? 0 : 1] : shade(at(r, c));
      g.fillRect(left + c * cell, top + r * cell, cell, cell);
    }
  }
}

const weights = (block, head) => (r, c) => weight(block, head, r + D.attention.first, c + D.attention.first);  // a map's cells

function draw(head) {
  // the map of view.block and view.head (or of head, previewed); the row and column under the cursor in bold
  const {n, cell, margin} = geometry(), first = D.attention.first, shown = head === undefined ? view.head : head;
  const g = canvasOf($("map"), margin + n * cell + 10, margin + n * cell + 10);
  g.font = "11px monospace";
  const labels = positions().map(label);
  cells(g, weights(view.block, shown), n, cell, margin, margin);
  if (margin > 10) {
    const [row, col] = view.cell ? [view.cell[0] - first, view.cell[1] - first] : [-1, -1];
    const style = (i, on) => { g.fillStyle = i === on ? PALETTE.up : PALETTE.text; g.font = (i === on ? "bold " : "") + "11px monospace"; };
    g.textAlign = "right";
    labels.forEach((t, i) => { style(i, row); g.fillText(t.slice(0, 16), margin - 4, margin + i * cell + cell * 0.75); });
    labels.forEach((t, i) => { g.save(); g.translate(margin + i * cell + cell * 0.75, margin - 4); g.rotate(-Math.PI / 3);
      style(i, col); g.textAlign = "left"; g.fillText(t.slice(0, 16), 0, 0); g.restore(); });
  }
  if (view.cell && head === undefined) readout(...view.cell);
}

function smallMaps(into) {
  // every head of the block at once, small: hover to preview one in the large map, click to keep it. For a prompt
  // too long for the page's data to hold every head, the live server sends them made small (each cell the largest
  // weight of a group of positions); a click then asks for the head's whole map. into: {box, block} elsewhere than
  // the attention section (a stage's panel), where a click shows the head in the large map and goes there
  const box = into ? into.box : $("small-maps"), A = D.attention, block = into ? into.block : view.block;
  box.textContent = "";
  let pooled = null;
  if (!A.per_head) {
    if (into) return;
    if (!LIVE || !D.options) return;
    A.small = A.small || {};
    if (A.small[block] === undefined) {
      A.small[block] = null;
      fromServer("/api/heads", {block: block, first: A.first}).then((answer) => {
        if (!answer) return;
        A.small[block] = answer;
        if (view.block === block) smallMaps();
      });
    }
    if (!A.small[block]) { box.textContent = `every head of block ${block}, small: being asked of the server`; return; }
    pooled = A.small[block];
    box.appendChild(el("p", {class: "legend-row"}, `every head of block ${block}, small: each cell is the largest weight from a group of about ${Math.ceil(positions().length / pooled.starts.length)} positions to another`));
  }
  const n = pooled ? pooled.starts.length : positions().length, cell = Math.max(1, Math.min(4, Math.floor(96 / n)));
  for (let h = 0; h < D.config.n_head; h++) {
    const kept = !into && h === view.head;
    const b = box.appendChild(el("button", {type: "button", class: "small-map" + (kept ? " kept" : ""),
                                            "aria-label": `show head ${block}.${h} in the large map`, ...(into ? {} : {"aria-pressed": String(kept)})}));
    const g = canvasOf(b.appendChild(el("canvas")), n * cell, n * cell);
    cells(g, pooled ? (r, c) => pooled.maps[h][r * (r + 1) / 2 + c] / 1000 : weights(block, h), n, cell, 0, 0);
    b.appendChild(el("span", {}, `${block}.${h}`));
    if (!pooled && !into) {  // a preview costs nothing here; for a long prompt it would ask the server for every head passed over
      b.onmouseenter = () => draw(h);
      b.onmouseleave = () => draw();
    }
    b.onclick = () => { show(block, h); if (into) $("controls").scrollIntoView({block: "start"}); };
  }
}

function readout(row, col) {
  const first = D.attention.first, {cell, margin} = geometry(), box = $("cursor");
  Object.assign(box.style, {display: "block", left: `${margin + (col - first) * cell - 2}px`, top: `${margin + (row - first) * cell - 2}px`,
                            width: `${cell}px`, height: `${cell}px`});
  const name = (t) => label(D.tokens[t]);
  const text = col > row ? `${name(row)} -> ${name(col)}: masked (the future)`
    : `block ${view.block}, ${view.head < 0 ? "average of the heads" : "head " + view.head}: row ${row} ${name(row)} -> column ${col} ${name(col)}: ${weight(view.block, view.head, row, col).toFixed(3)}`;
  $("readout").textContent = text;
  const tip = $("tip");  // the same, beside the cursor
  tip.textContent = col > row ? "masked" : `${name(row)} \u2192 ${name(col)}  ${weight(view.block, view.head, row, col).toFixed(3)}`;
  Object.assign(tip.style, {display: "block", left: `${margin + (col - first + 1) * cell + 6}px`, top: `${margin + (row - first) * cell - 4}px`});
}

$("map").addEventListener("mousemove", (e) => {
  if (!D.json) return;
  const {n, cell, margin} = geometry(), first = D.attention.first;
  const rect = e.target.getBoundingClientRect();
  const c = Math.floor((e.clientX - rect.left - margin) / cell), r = Math.floor((e.clientY - rect.top - margin) / cell);
  if (r >= 0 && c >= 0 && r < n && c < n) { view.cell = [r + first, c + first]; draw(); }
});
$("map").addEventListener("keydown", (e) => {  // the arrow keys act on the map only, where it has the focus
  if (!D.json) return;
  const moves = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0]};
  if (moves[e.key]) { e.preventDefault(); step(...moves[e.key]); }
});

function fromFragment() {
  // #block=B&head=H (or avg)&cell=ROW,COLUMN: any value that does not name something on the page is ignored
  const f = new URLSearchParams(location.hash.slice(1)), A = D.attention, n = D.tokens.length;
  const block = whole(f.get("block"), 0, D.config.n_layer - 1, 0);
  const head = f.get("head") === "avg" || !perHead() ? -1 : whole(f.get("head"), 0, D.config.n_head - 1, view.head);
  const cell = (f.get("cell") || "").split(",");
  const row = whole(cell[0], A.first, n - 1, null), col = whole(cell[1], A.first, n - 1, null);
  view.cell = row !== null && col !== null ? [row, col] : null;
  show(block, head);
}

function lens() {
  const box = $("lens");
  box.textContent = "";
  if (!D.lens) {  // the live page's runs leave it out until the section is opened
    box.appendChild(el("p", {}, $("lens-section").open ? "computing the lens..." : "open this section to compute it"));
    return;
  }
  box.appendChild(legend("probability of the top token: 0", "1"));
  const table = captioned(el("table", {id: "lens-table"}), "the logit lens: the top token read from each layer at each position");
  const head = table.appendChild(el("tr"));
  head.appendChild(el("th", {class: "row"}, "layer"));
  D.tokens.forEach((t) => head.appendChild(el("th", {}, label(t))));
  D.lens.ids.forEach((row, layer) => {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, layer === 0 ? "0 embeddings" : `${layer} after block ${layer - 1}`));
    row.forEach((ids, t) => {
      const probs = D.lens.probs[layer][t];
      const p = probs[0] / 1000;
      const top = ids.map((id, k) => `${D.texts[id]} ${(probs[k] / 1000).toFixed(3)}`).join("\n");
      tr.appendChild(el("td", {"data-layer": layer, "data-position": t, "data-id": ids[0], title: top,
        style: paint(p)}, D.texts[ids[0]]));
    });
  });
  box.appendChild(table);
}

// ---- the experiments: every head that appears is a cell with data-head="L.H" (on the live page, a click removes it) ----

function section(title, how) {
  const box = $("experiments");
  box.appendChild(el("h2", {}, title));
  box.appendChild(el("p", {class: "how"}, how));
  return box;
}

function legend(low, high, signed) {
  // the scale's key: a strip from its low end to its high end (signed: orange, the page's colour, blue)
  const row = el("div", {class: "legend-row"}, low + " ");
  const strip = signed ? `rgb(${ORANGE}), transparent, rgb(${BLUE})` : `${shade(0)}, ${shade(1)}`;
  row.appendChild(el("span", {class: "legend", style: `background:linear-gradient(to right, ${strip})`, "aria-hidden": "true"}));
  row.append(" " + high);
  return row;
}

function captioned(table, text) {
  // a table's caption: what its cells are, for a screen reader and for the eye
  table.prepend(el("caption", {}, text));
  return table;
}

function headTable(id, cell) {
  // n_layer rows of n_head cells; cell(block, head) -> [text, shade 0..1, title]
  const table = el("table", {id: id, class: "heads"});
  const top = table.appendChild(el("tr"));
  top.appendChild(el("th", {class: "row"}, "block \\ head"));
  for (let h = 0; h < D.config.n_head; h++) top.appendChild(el("th", {}, String(h)));
  for (let b = 0; b < D.config.n_layer; b++) {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, String(b)));
    for (let h = 0; h < D.config.n_head; h++) {
      const [text, s, title] = cell(b, h);
      const attrs = {title: `head ${b}.${h}` + (title ? ": " + title : ""), style: paint(s)};
      if (text !== "") attrs["data-head"] = `${b}.${h}`;
      tr.appendChild(el("td", attrs, text));
    }
  }
  return table;
}

function positionTable(id, cells, rowName, share, format) {
  const table = el("table", {id: id});
  const top = table.appendChild(el("tr"));
  top.appendChild(el("th", {class: "row"}, rowName(-1)));
  D.tokens.forEach((t) => top.appendChild(el("th", {}, label(t))));
  cells.forEach((row, r) => {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, rowName(r)));
    row.forEach((cell, t) => {
      const v = cell !== null && typeof cell === "object" ? cell.v : cell;  // a number, or {v, title}
      const x = v === null ? 0 : share(v);
      const title = v === null ? "not patched" : cell.title || format(v);
      tr.appendChild(el("td", {title: title, style: paint(x)}, v === null ? "" : format(v)));
    });
  });
  return table;
}

function steering(S) {
  const against = S.against === null ? `as many " " tokens` : JSON.stringify(S.against);
  const box = section("Steering", `Every number on this page is the steered model's: the residual stream of ${JSON.stringify(S.toward)} minus that of ${against}, entering block ${S.at}, times ${S.coef}, added to the prompt's stream entering block ${S.at} at its first ${S.positions} positions.`);
  if (!D.unsteered) return;
  const row = box.appendChild(el("div", {class: "side-by-side", id: "steering"}));
  for (const [name, text] of [["steered", D.json.text], ["without steering", D.unsteered]]) {
    const column = row.appendChild(el("div", {"data-run": name}));
    column.appendChild(el("p", {}, name + ":"));
    column.appendChild(el("p", {class: "continuation"}, text));
  }
}

function experiments() {
  const box = $("experiments");
  box.textContent = "";
  const J = D.json, text = (id) => D.texts[id];
  if (!J) return;
  if (J.ablate) section("Ablation", `Every number on this page was computed with these heads removed (their output set to ${J.ablate_with === "mean" ? "its mean over the prompt's positions" : "zero"}): ` +
      J.ablate.map(([b, h]) => `${b}.${h}`).join(", ") + ". Compare with a run without them.");
  if (J.steer) steering(J.steer);
  const followedBy = experiment(J);
  if (followedBy) {
    const id = followedBy.target, how = $("o-target_id") && ablated.length && !$("o-target").value && !$("o-target_id").value
      ? "the token the run with every head predicts next, so that removing heads does not change the question"
      : id === D.next_id ? "the model's own next token" : "the token typed as the target";
    section("What the experiments follow", `The experiments below follow ${text(id)} (id ${id}): ${how}.`).lastChild.id = "followed";
  }
  if (J.heads) {
    const box = section("Head roles", `Four scores per head, each between 0 and 1: previous-token (position t looks at t-1), first-token (t looks at position 0), induction (on ${J.heads.period} random tokens repeated, t looks at the token after t's earlier occurrence) and duplicate-token (t looks at that earlier occurrence itself). A dark cell is a head that does that one thing.`);
    box.appendChild(legend("score: 0", "1"));
    for (const [column, role, meaning] of D.roles) {  // HeadScores' column of each role, from the Python side
      box.appendChild(el("p", {}, `${role}: ${meaning}`));
      const table = captioned(headTable(`heads-${role}`, (b, h) => { const s = J.heads.scores[b * D.config.n_head + h][column]; return [s.toFixed(2), s, `${role} ${s.toFixed(3)}`]; }), `${role} score of each head, 0 to 1`);
      table.setAttribute("data-role", role);
      box.appendChild(table);
    }
  }
  if (J.copying) {
    const box = section("Copying scores", `For each head: the share of the prompt's positions whose own token is among the ${J.copying.k} likeliest of what the head would write if it attended to that position alone (its values through c_proj, read by the unembedding). A dark cell is a head that copies what it attends to, as the IOI paper's name movers do.`);
    box.appendChild(legend("score: 0", "1"));
    box.appendChild(captioned(headTable("copying", (b, h) => {
      const [/* block */, /* head */, score] = J.copying.scores[b * D.config.n_head + h];  // CopyingRow
      return [score.toFixed(2), score, `copying ${score.toFixed(3)}`];
    }), "the copying score of each head, 0 to 1"));
  }
  if (J.attribution) {
    const A2 = J.attribution;
    const what = A2.versus === null ? `The logit of ${text(A2.target)}` : `The logit difference ${text(A2.target)} minus ${text(A2.versus)}`;
    const box = section("Direct logit attribution", `${what} (${A2.logit.toFixed(3)}) split into what each part of the network added to the final residual stream, with the final LayerNorm's scale frozen. Blue bars pushed it up, orange ones down. The 20 largest parts:`);
    const parts = [...A2.parts].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 20);
    const biggest = Math.max(...parts.map((p) => Math.abs(p[1]))) || 1;
    const table = box.appendChild(captioned(el("table", {id: "attribution"}), "the 20 largest parts of the direct logit attribution"));
    for (const [name, value] of parts) {
      const tr = table.appendChild(el("tr", /^\d+\.\d+$/.test(name) ? {"data-head": name} : {}));
      tr.appendChild(el("th", {class: "row"}, name));
      tr.appendChild(el("td", {}, value.toFixed(3)));
      const bar = tr.appendChild(el("td")).appendChild(el("span", {class: "bar"}));
      bar.style.width = `${Math.round(Math.abs(value) / biggest * 300)}px`;
      bar.style.background = value > 0 ? PALETTE.up : PALETTE.down;
    }
    box.appendChild(el("p", {}, `All ${A2.parts.length} parts add up to ${A2.parts.reduce((s, p) => s + p[1], 0).toFixed(3)}.`));
  }
  if (J.patch) patching(J.patch, text);
  if (J.path) pathPatching(J.path, J.patch, text);
}

function metricName(P, text) {
  return P.versus === null ? `P(${text(P.target)})` : `logit(${text(P.target)}) - logit(${text(P.versus)})`;
}
const formatter = (P) => (v) => (P.metric === "probability" ? v.toFixed(3) : (v >= 0 ? "+" : "") + v.toFixed(2));

function patching(P, text) {
  const span = (P.clean - P.corrupted) || 1, format = formatter(P), share = (v) => (v - P.corrupted) / span;
  const written = (v) => `${format(v)}, ${Math.round(share(v) * 100)}% of the difference`;  // a cell's title: the metric, the share
  section("Activation patching", `${metricName(P, text)} is ${format(P.clean)} for the prompt and ${format(P.corrupted)} for the corrupted prompt. Each cell is a run of the corrupted prompt with one thing put back from the prompt's run, and shows the metric of that run; the darker the cell, the more of the difference came back: what the model needed from the difference went through that one thing. Blue brings the answer back (the share of the difference), orange pushes it further from the prompt's. Hover for the number.`);
  $("experiments").appendChild(legend("pushes it further away", "brings all of the difference back (share of the difference, 0 in the middle)", true));
  for (const [key, kind, what, byPosition] of D.patch_kinds) {  // patch.py's KINDS: --json's key, the kind, what it puts back
    if (!P[key]) continue;
    const box = $("experiments");
    box.appendChild(el("h3", {}, kind));
    box.appendChild(el("p", {class: "how"}, "Put back: " + what + "."));
    const estimate = D.json.attribution_patching && D.json.attribution_patching[key];
    const where = estimate ? box.appendChild(el("div", {class: "side-by-side"})) : box;
    const grids = estimate ? [["exact", P[key]], ["estimated (attribution patching)", estimate]] : [["exact", P[key]]];
    for (const [name, cells] of grids) {
      const column = estimate ? where.appendChild(el("div", {"data-grid": name, tabindex: "0", role: "region", "aria-label": `${kind}: ${name}`})) : where;
      if (estimate) column.appendChild(el("p", {}, name + ":"));
      const id = name === "exact" ? `patch-${kind}` : `estimate-${kind}`;
      const note = (v, r, c) => (name === "exact" ? "" : `; exact ${format(P[key][r][c])}, error ${format(v - P[key][r][c])}`);
      if (byPosition) {
        const rows = cells.map((row, r) => row.map((v, t) => (v === null ? null : {v: v, title: written(v) + note(v, r, t)})));
        column.appendChild(captioned(positionTable(id, rows, (r) => (r < 0 ? (key === "grid" ? "layer" : "block") : String(r)), share, format), `${kind} patching, ${name}: the metric with each cell put back`));
      } else {
        column.appendChild(captioned(headTable(id, (b, h) => [format(cells[b][h]), share(cells[b][h]), `${metricName(P, text)} = ${written(cells[b][h])}${note(cells[b][h], b, h)}`]), `${kind} patching, ${name}: the metric with each head's ${kind === "heads" ? "output" : kind} put back`));
      }
    }
    if (estimate) box.appendChild(el("p", {class: "agreement"}, agreement(P[key], estimate, format)));
  }
}

function agreement(exact, estimate, format) {
  // the correlation of the cells both grids hold, and the largest error
  const pairs = [];
  exact.forEach((row, r) => row.forEach((v, c) => { if (v !== null) pairs.push([v, estimate[r][c]]); }));
  const mean = (k) => pairs.reduce((s, p) => s + p[k], 0) / pairs.length;
  const [me, ma] = [mean(0), mean(1)];
  const cov = pairs.reduce((s, [e, a]) => s + (e - me) * (a - ma), 0);
  const ve = pairs.reduce((s, [e]) => s + (e - me) ** 2, 0), va = pairs.reduce((s, [, a]) => s + (a - ma) ** 2, 0);
  const r = ve > 0 && va > 0 ? (cov / Math.sqrt(ve * va)).toFixed(3) : "undefined (a grid is constant)";
  const worst = Math.max(...pairs.map(([e, a]) => Math.abs(a - e)));
  return `Correlation of the estimate with the exact grid: ${r}; the largest error: ${format(worst).replace("+", "")}. Hover an estimated cell for its exact value and its error.`;
}

function pathPatching(R, P, text) {
  const format = formatter(P), span = (P.clean - P.corrupted) || 1;
  const receiver = R.receiver === "logits" ? "the logits" : `the ${{q: "queries", k: "keys", v: "values"}[R.receiver[2]]} of head ${R.receiver[0]}.${R.receiver[1]}`;
  const box = section("Path patching", `Each cell is a run of the prompt in which that head's output comes from the corrupted run and reaches ${receiver} only directly: every other head's output is frozen at its value in the prompt's run. It shows ${metricName(P, text)} (${format(P.clean)} unchanged, ${format(P.corrupted)} for the corrupted prompt); the darker the cell, the more of the answer that head's direct path carries. Empty cells are heads that cannot send to the receiver.`);
  box.appendChild(captioned(headTable("path", (b, h) => {
    const v = R.grid[b][h];
    return v === null ? ["", 0, "not a sender"] : [format(v), (P.clean - v) / span, `${metricName(P, text)} = ${format(v)}`];
  }), `path patching to ${receiver}: the metric with each head's direct path from the corrupted run`));
}

// ---- GPT-2 drawn: its stages as the code runs them, the run's numbers on them, the code behind each ----

const stageShown = {key: null, block: null, part: null};  // the stage whose panel is open (part: which LayerNorm)

function headMeasures() {
  // [name, (block, head) -> a number from -1 to 1 or null, its text] for every measure this run has
  const J = D.json, n = D.config.n_head, out = [];
  if (J.heads) for (const [column, role] of D.roles) out.push([`${role} score`, (b, h) => J.heads.scores[b * n + h][column], (v) => v.toFixed(2)]);
  if (J.attribution) {
    const parts = Object.fromEntries(J.attribution.parts), top = Math.max(...J.attribution.parts.map((p) => Math.abs(p[1]))) || 1;
    out.push(["direct logit attribution", (b, h) => (parts[`${b}.${h}`] === undefined ? null : parts[`${b}.${h}`] / top), (v) => (v * top).toFixed(3)]);
  }
  if (J.patch && J.patch.heads) {
    const P = J.patch, span = (P.clean - P.corrupted) || 1;
    out.push(["patching effect (heads)", (b, h) => (P.heads[b][h] - P.corrupted) / span, (v) => `${(v * 100).toFixed(0)}% of the difference`]);
    const E = J.attribution_patching;
    if (E && E.heads) out.push(["attribution patching's estimate (heads)", (b, h) => (E.heads[b][h] - P.corrupted) / span, (v) => `${(v * 100).toFixed(0)}% of the difference`]);
  }
  if (J.copying) out.push(["copying score", (b, h) => J.copying.scores[b * n + h][2], (v) => v.toFixed(2)]);
  return out;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(parent, tag, attrs) {
  const e = parent.appendChild(document.createElementNS(SVG, tag));
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function drawModel() {
  // GPT-2 as a diagram of its residual stream: the stream runs down from the embedding to the unembedding; in each
  // block, attention and then the MLP read it through a LayerNorm on a branch to the right and add what they
  // compute back into it (the circled plus). Every stage is a button that opens its panel, every head a control;
  // the run's numbers sit on the drawing: the heads shaded by the measure chosen, the length of what each branch
  // adds at the last position, and the logit lens's guess after each block.
  const box = $("anatomy"), A = D.anatomy, C = D.config;
  box.textContent = "";
  if (!A) return;
  const V = A.values;
  const measures = headMeasures();
  const choose = box.appendChild(el("label", {}, "shade the heads by "));
  const select = choose.appendChild(el("select", {id: "measure"}));
  select.appendChild(el("option", {value: "-1"}, measures.length ? "nothing" : "nothing (ask for head roles, attribution, patching or copying)"));
  measures.forEach(([name], i) => select.appendChild(el("option", {value: String(i)}, name)));
  select.value = String(Math.min(measures.length - 1, Number(box.dataset.measure || 0)));
  select.onchange = () => { box.dataset.measure = select.value; redrawn(drawModel); };
  const measure = measures[Number(select.value)];
  const row = box.appendChild(el("div", {class: "model"}));
  const figure = row.appendChild(el("div", {class: "diagram", role: "group", "aria-label": "GPT-2's stages in the order the code runs them"}));
  // the geometry, in CSS pixels: the stream at x = X; a branch holds a LayerNorm, then attention and its heads, or the MLP
  box.dataset.width = box.clientWidth;
  const room = Math.max(300, Math.min(box.clientWidth || 900, 1200)), narrow = room < 620;
  const X = 104, LN = X + 24, SUB = LN + 42, HEAD = 20, HEADS = SUB + 84;
  const perLine = Math.max(4, Math.min(C.n_head, Math.floor((room - HEADS - 30) / HEAD)));
  const headRows = Math.ceil(C.n_head / perLine), right = HEADS + perLine * HEAD + 14, GUESS = right + 16;
  const wires = svg(figure, "svg", {"aria-hidden": "true", class: "wires"});
  const wire = (points) => {  // a line through points, its arrowhead at the last
    const [[x1, y1], [x2, y2]] = points.slice(-2), d = Math.hypot(x2 - x1, y2 - y1), [ux, uy] = [(x2 - x1) / d, (y2 - y1) / d];
    const [bx, by] = [x2 - 7 * ux, y2 - 7 * uy];
    svg(wires, "polyline", {points: [...points.slice(0, -1), [bx, by]].map((p) => p.join(",")).join(" "), class: "wire"});
    svg(wires, "polygon", {points: `${x2},${y2} ${bx - 4 * uy},${by + 4 * ux} ${bx + 4 * uy},${by - 4 * ux}`, class: "arrowhead"});
  };
  const put = (node, x, y, cls) => {
    if (cls) node.classList.add(cls);
    node.style.left = `${x}px`;
    node.style.top = `${y}px`;
    return figure.appendChild(node);
  };
  const shown = (key, block, part) => stageShown.key === key && stageShown.block === block && (stageShown.part || null) === (part || null);
  const stage = (key, block, text, x, y, part, cls) => {
    const b = put(el("button", {type: "button", class: "stage", "data-stage": key, "data-block": block === null ? "" : String(block),
                                "aria-expanded": String(shown(key, block, part)), ...(part ? {"data-part": part} : {})}, text), x, y, cls);
    b.onclick = () => { Object.assign(stageShown, {key: key, block: block, part: part || null}); redrawn(drawModel); showPanel(); };
    return b;
  };
  const plus = (y) => { svg(wires, "circle", {cx: X, cy: y, r: 7, class: "add"}); svg(wires, "path", {d: `M${X - 4},${y} h8 M${X},${y - 4} v8`, class: "wire"}); };
  const length = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const adds = (text, title, y) => put(el("span", {class: "adds", title: title}, text), X - 11, y - 8, "left-of");
  const ending = D.tokens.slice(-3).map(label).join(" ");
  stage("tokens", null, `tokens: ${D.tokens.length > 3 ? "\u2026 " : ""}${ending}`, 4, 0).title = `the prompt's ${D.tokens.length} tokens, as ids`;
  wire([[X, 22], [X, 27]]);
  stage("embedding", null, "embedding: wte[ids] + wpe", X, 28, null, "centred");
  put(el("span", {class: "caption-small", title: "each position's vector of n_embd numbers, only ever added to"}, "the residual stream"), X + 10, 56);
  let y = 78;
  for (let L = 0; L < C.n_layer; L++) {
    const attnHeight = Math.max(40, headRows * HEAD + 22), top = y;
    stage("block", L, `block ${L}`, 4, y);
    wire([[X, y + 11], [LN, y + 11]]);
    stage("layer_norm", L, "LN", LN, y, "ln_1");
    wire([[LN + 32, y + 11], [SUB, y + 11]]);
    stage("attention", L, "attention", SUB, y);
    const heads = put(el("span", {class: "heads", role: "group", "aria-label": `the heads of block ${L}`}), HEADS, y);
    for (let h = 0; h < C.n_head; h++) {
      const v = measure ? measure[1](L, h) : null, known = v !== null && v !== undefined;
      const cell = heads.appendChild(el("span", {"data-head": `${L}.${h}`, class: "head", title: `head ${L}.${h}` + (known ? `: ${measure[0]} ${measure[2](v)}` : ""),
                                               style: known ? paint(v) : ""}, String(h)));
      cell.style.left = `${(h % perLine) * HEAD}px`;
      cell.style.top = `${Math.floor(h / perLine) * HEAD}px`;
    }
    const attnEnd = HEADS + Math.min(perLine, C.n_head) * HEAD, joinA = y + attnHeight - 8;
    wire([[attnEnd, y + 11], [right, y + 11], [right, joinA], [X + 8, joinA]]);
    plus(joinA);
    adds(`+${length(V.attn[L].last).toFixed(1)}`, `the length of what attention adds to the stream at the last position (its L2 norm); the stream's is ${length(V.states[L].last).toFixed(1)} before`, joinA);
    y += attnHeight;
    wire([[X, y + 11], [LN, y + 11]]);
    stage("layer_norm", L, "LN", LN, y, "ln_2");
    wire([[LN + 32, y + 11], [SUB, y + 11]]);
    stage("mlp", L, "MLP", SUB, y);
    const joinM = y + 32;
    wire([[SUB + 40, y + 11], [SUB + 56, y + 11], [SUB + 56, joinM], [X + 8, joinM]]);
    plus(joinM);
    adds(`+${length(V.mlp[L].last).toFixed(1)}`, "the length of what the MLP adds to the stream at the last position (its L2 norm)", joinM);
    const [guess, p] = A.guesses[L + 1];
    put(el("span", {class: "guess", title: `the logit lens after block ${L}, at the last position: ${D.texts[guess]}, with probability ${p.toFixed(3)}, is what the model would predict if it stopped here`},
           `\u2192 ${D.texts[guess]} ${p.toFixed(2)}`), narrow ? 4 : GUESS, narrow ? y + 2 : joinM - 9, narrow ? "in-gutter" : null);
    y += 44;
  }
  if (!narrow) put(el("span", {class: "caption-small", title: "the logit lens at the last position: what the model would predict if it stopped after the block"}, "logit lens"), GUESS, 60);
  svg(wires, "line", {x1: X, y1: 50, x2: X, y2: y - 4, class: "stream"});
  wire([[X, y - 4], [X, y + 5]]);
  stage("unembed", null, `final LN, x @ wte.T: [${D.tokens.length}, ${C.vocab_size}]`, X - 40, y + 6);
  wire([[X, y + 29], [X, y + 41]]);
  stage("softmax", null, "softmax: the next token", X - 40, y + 42);
  const top = put(el("ol", {class: "top-five", "aria-label": "the likeliest next tokens"}), X - 60, y + 72);
  for (const [id, p] of A.top) {
    const li = top.appendChild(el("li", {}, `${D.texts[id]} ${p.toFixed(2)} `));
    li.appendChild(el("span", {class: "bar"})).style.width = `${Math.round(p * 120)}px`;
  }
  const height = y + 72 + 18 * A.top.length + 8, width = narrow ? room : GUESS + 150;
  figure.style.width = `${width}px`;
  figure.style.height = `${height}px`;
  wires.setAttribute("width", width);
  wires.setAttribute("height", height);
  previewHeads(figure, width, measure);
  const panel = row.appendChild(el("div", {id: "stage-panel", role: "region", tabindex: "0", "aria-label": "the stage chosen", "aria-live": "polite"}));
  if (stageShown.key) stagePanel(panel, stageShown.key, stageShown.block, stageShown.part);
  else panel.appendChild(el("p", {class: "how"}, "Click a stage of the drawing (the tokens, the embedding, a block, a LayerNorm, attention, the MLP, the unembedding, the softmax) to see it here."));
  markAblated();
}

function previewHeads(figure, width, measure) {
  // a head under the mouse (or the keyboard's focus) shows its attention pattern beside it, and its measure
  const tip = figure.appendChild(el("div", {class: "head-preview", "aria-hidden": "true"}));
  tip.hidden = true;
  const show = (e) => {
    const head = e.target.closest && e.target.closest("#anatomy .head");
    if (!head) return;
    const [L, h] = head.getAttribute("data-head").split(".").map(Number), n = positions().length;
    tip.textContent = "";
    tip.appendChild(el("div", {}, head.title + (LIVE ? (ablated.includes(`${L}.${h}`) ? "; click to restore it" : "; click to remove it") : "")));
    if (D.attention.per_head) {
      const cell = Math.max(1, Math.min(5, Math.floor(120 / n)));
      cells(canvasOf(tip.appendChild(el("canvas")), n * cell, n * cell), weights(L, h), n, cell, 0, 0);
      tip.appendChild(el("div", {}, "its attention: row = the position attending, column = the one attended to"));
    }
    const box = head.getBoundingClientRect(), origin = figure.getBoundingClientRect();
    tip.hidden = false;
    tip.style.left = `${Math.max(0, Math.min(box.right - origin.left + 8, width - tip.offsetWidth))}px`;
    tip.style.top = `${box.bottom - origin.top + 4}px`;
  };
  const hide = (e) => { if (e.target.closest && e.target.closest("#anatomy .head")) tip.hidden = true; };
  figure.addEventListener("mouseover", show);
  figure.addEventListener("focusin", show);
  figure.addEventListener("mouseout", hide);
  figure.addEventListener("focusout", hide);
}

function showPanel() {
  // on a phone the panel is below the drawing: bring it into view
  const panel = $("stage-panel");
  if (panel.getBoundingClientRect().top > innerHeight * 0.8) panel.scrollIntoView({block: "start"});
}

function stagePanel(panel, key, block, part) {
  // what the stage computes, the lines that compute it, its shape with this model's sizes, and this run's numbers
  const S = D.anatomy.stages.find((s) => s.key === key), C = D.config, V = D.anatomy.values;
  const which = part === "ln_1" ? ", before attention" : part === "ln_2" ? ", before the MLP" : "";
  panel.appendChild(el("h3", {}, S.title + (block === null ? "" : ` (block ${block}${which})`)));
  panel.appendChild(el("p", {}, S.what));
  const sizes = {n_seq: D.tokens.length, n_embd: C.n_embd, vocab_size: C.vocab_size};
  panel.appendChild(el("p", {}, `Shape: ${S.shape} = [${S.shape.slice(1, -1).split(", ").map((d) => sizes[d]).join(", ")}]`));
  const last = label(D.tokens[D.tokens.length - 1]);
  const plusOf = (a, b) => a.map((v, i) => v + b[i]);
  const numbers = {
    embedding: () => [V.states[0], "the stream entering block 0"],
    block: () => [V.states[block + 1], `the stream after block ${block}`],
    attention: () => [V.attn[block], "what attention adds to the stream"],
    mlp: () => [V.mlp[block], "what the MLP adds to the stream"],
    layer_norm: () => [{last: V[part][block]}, `its output, from ${part === "ln_1" ? "the stream entering the block" : "the stream after attention"}`,
                       part === "ln_1" ? V.states[block].last : plusOf(V.states[block].last, V.attn[block].last)],
    unembed: () => [{last: V.ln_f}, "the final LayerNorm's output, which meets wte", V.states[C.n_layer].last],
  }[key];
  if (numbers) {
    const [x, what, input] = numbers();
    panel.appendChild(el("h4", {}, `This run: ${what}`));
    vectorView(panel, x.last, `at the last position, ${last}: all ${x.last.length} numbers (${stats(x.last)})` +
                              (input ? `; its input there: ${stats(input)}` : ""));
    if (x.lengths) lengthsView(panel, x.lengths);
  }
  if (key === "attention" && D.attention.per_head) {
    panel.appendChild(el("h4", {}, `This run: the pattern of each head of block ${block}`));
    smallMaps({box: panel.appendChild(el("div", {class: "small-maps", role: "group", "aria-label": `every head of block ${block}, small`})), block: block});
  }
  if (key === "unembed" || key === "softmax") {
    panel.appendChild(el("h4", {}, "This run: the likeliest next tokens"));
    const list = panel.appendChild(el("ol", {class: "values"}));
    for (const [id, p, logit] of D.anatomy.top) list.appendChild(el("li", {}, `${D.texts[id]}: logit ${logit.toFixed(3)}, probability ${p.toFixed(4)}`));
  }
  if (key === "tokens") {
    panel.appendChild(el("h4", {}, `This run: ${D.tokens.length} ids`));
    const shown = D.tokens.slice(0, 200);
    panel.appendChild(el("p", {class: "values"}, shown.map((t) => `${t[0]} ${label(t)}`).join(", ") + (D.tokens.length > shown.length ? ", \u2026" : "")));
  }
  const listing = (title, code) => {
    panel.appendChild(el("h4", {}, title));
    for (const c of code) {
      panel.appendChild(el("p", {class: "where"}, `${c.file}, lines ${c.first} to ${c.first + c.lines.length - 1}:`));
      const pre = panel.appendChild(el("pre", {class: "code", tabindex: "0", "aria-label": `${c.file} from line ${c.first}`}));
      c.lines.forEach((line, i) => pre.appendChild(el("span", {class: "line", "data-line": String(c.first + i)}, `${String(c.first + i).padStart(4)}  ${line}\n`)));
    }
  };
  listing("The code that computed it", S.code);
  if (S.by_hand.length) listing("The same by hand, in a lesson (the tests hold the two equal)", S.by_hand);
}

function stats(x) {
  const mean = x.reduce((s, v) => s + v, 0) / x.length, sd = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
  return `mean ${mean.toFixed(3)}, standard deviation ${sd.toFixed(3)}, length ${Math.sqrt(x.reduce((s, v) => s + v * v, 0)).toFixed(2)}`;
}

function vectorView(panel, x, caption) {
  // a vector as a grid of cells, blue above zero and orange below, darker further from it; hover names a cell
  const size = x.length <= 128 ? 12 : 8, fits = Math.floor((panel.clientWidth - 24) / size / 8) * 8;
  const most = Math.min(x.length, 64, Math.max(8, fits));
  const columns = [...Array(most + 1).keys()].reverse().find((c) => c >= 8 && c % 8 === 0 && x.length % c === 0) || most, rows = Math.ceil(x.length / columns), top = Math.max(...x.map(Math.abs)) || 1;
  panel.appendChild(el("p", {class: "values"}, caption));
  const canvas = panel.appendChild(el("canvas", {class: "vector", role: "img", "aria-label": `${x.length} numbers, from ${Math.min(...x)} to ${Math.max(...x)}`}));
  const g = canvasOf(canvas, columns * size, rows * size);
  x.forEach((v, i) => { g.fillStyle = shade(Math.abs(v) / top, v >= 0 ? BLUE : ORANGE); g.fillRect((i % columns) * size, Math.floor(i / columns) * size, size - 1, size - 1); });
  const key = panel.appendChild(legend(`${(-top).toFixed(2)}`, `${top.toFixed(2)}, in rows of ${columns}; `, true));
  const readout = key.appendChild(el("span", {class: "readout"}, "hover a cell for its number"));
  canvas.onmousemove = (e) => {
    const r = canvas.getBoundingClientRect(), i = Math.floor((e.clientY - r.top) / size) * columns + Math.floor((e.clientX - r.left) / size);
    if (i >= 0 && i < x.length) readout.textContent = `number ${i}: ${x[i].toFixed(3)}`;
  };
}

function lengthsView(panel, lengths) {
  // the vector's length (L2 norm) at every position, as bars, the last in orange; hover names the position
  const n = lengths.length, room = Math.min(600, panel.clientWidth - 20), h = 50;
  const w = n <= room ? Math.min(14, Math.floor(room / n)) : room / n;  // whole pixels a bar, or less for a long prompt
  const top = Math.max(...lengths) || 1;
  const caption = panel.appendChild(el("p", {class: "values"}, `its length at every position, from ${label(D.tokens[0])} to ${label(D.tokens[n - 1])} ` +
                                                              `(orange): from ${Math.min(...lengths).toFixed(1)} to ${top.toFixed(1)}; `));
  const readout = caption.appendChild(el("span", {class: "readout"}, "hover a bar for its position"));
  const canvas = panel.appendChild(el("canvas", {class: "lengths", role: "img", "aria-label": `${n} lengths, the largest ${top.toFixed(1)}`}));
  const g = canvasOf(canvas, n * w, h);
  lengths.forEach((v, i) => { g.fillStyle = i === n - 1 ? PALETTE.down : PALETTE.up; g.fillRect(i * w, h - v / top * h, w >= 3 ? w - 1 : w, v / top * h); });
  canvas.onmousemove = (e) => {
    const i = Math.floor((e.clientX - canvas.getBoundingClientRect().left) / w);
    if (i >= 0 && i < n) readout.textContent = `position ${i}, ${label(D.tokens[i])}: length ${lengths[i].toFixed(2)}`;
  };
}

function render() {
  redrawn(drawPage);
}

function redrawn(drawing) {
  // drawing() draws anew; the element that had the focus (a head, a stage, a control) gets it back in the new drawing
  const had = document.activeElement, where = had && had.closest("[id]") ? "#" + had.closest("[id]").id + " " : "";
  const same = !had ? null : had.id ? "#" + had.id
    : had.getAttribute("data-head") ? `${where}[data-head="${had.getAttribute("data-head")}"]`
    : had.getAttribute("data-stage") ? `${where}[data-stage="${had.getAttribute("data-stage")}"][data-block="${had.getAttribute("data-block")}"]` +
                                       (had.getAttribute("data-part") ? `[data-part="${had.getAttribute("data-part")}"]` : "") : null;
  drawing();
  const again = same && document.querySelector(same);
  if (again && again !== document.activeElement) again.focus({preventScroll: true});
}

function drawPage() {
  document.body.classList.toggle("live", LIVE);
  meta();
  $("sections").hidden = !D.json;  // no empty sections before the first run
  if (!D.json) return;
  $("start").hidden = true;
  tokens();
  drawModel();
  fromFragment();
  lens();
  experiments();
  markAblated();
}

// ---- the live page: the form is the run, the address bar holds it, a click on a head removes it ----

// the form's fields are the API's options, drawn from the parser's own list (D.form): an input with id "o-NAME" is
// the option NAME. The heads removed (--ablate) are the ones clicked away, not a field.
let FIELDS = [];
const DEFAULTS = {};  // as the command line's: a value left at its default is left out of the options
const STARTING = {max_new_tokens: "8", kv_cache: true};  // what the page starts with, where it differs from the command line
let ablated = [];  // "L.H" strings
let baseline = null;  // {page, options}: the run without removed heads that the comparison starts from

function drawForm(groups) {
  // the first group (the prompt) always shown; the others each under a summary that opens it, open from the start
  // on a wide screen, closed on a phone (where the form would push the run out of view) unless a value is set in it
  const box = $("fields");
  groups.forEach(([title, fields], i) => {
    const holder = i === 0 ? box : box.appendChild(el("details", {class: "group"}));
    if (i > 0) {
      holder.appendChild(el("summary", {}, title));
      holder.open = innerWidth >= 700;
    }
    const set = holder.appendChild(el("fieldset"));
    set.appendChild(el("legend", i > 0 ? {class: "by-summary"} : {}, title));
    for (const f of fields.filter((f) => f.key !== "ablate")) {
      const id = "o-" + f.key, name = f.key === "prompt" ? "prompt" : "--" + f.key.replace(/_/g, "-");
      let input;
      if (f.key === "prompt") input = el("textarea", {id: id, rows: "3", class: "wide"});
      else if (f.choices) {
        input = el("select", {id: id});
        input.appendChild(el("option", {value: ""}, "(default)"));
        for (const c of f.choices) input.appendChild(el("option", {value: c}, c));
      } else if (f.kind === "flag") input = el("input", {type: "checkbox", id: id});
      else input = el("input", {type: f.kind === "number" ? "number" : "text", id: id, step: "any", placeholder: f.metavar || ""});
      if (f.default !== null && f.default !== false) DEFAULTS[f.key] = f.default;
      const label = set.appendChild(el("label", {title: f.help || ""}));
      if (f.kind === "flag") label.append(input, " " + name);
      else label.append(name + " ", input);
      if (f.key === "prompt") set.appendChild(el("br"));
      if (STARTING[f.key] === true) input.checked = true;
      else if (STARTING[f.key] !== undefined) input.value = STARTING[f.key];
      FIELDS.push(f.key);
    }
  });
}

function openSet() {
  // a group holding a value other than the page's starting one is opened: nothing set is hidden
  const starting = (name, input) => (input.type === "checkbox" ? input.checked === (STARTING[name] === true)
                                                               : input.value === String(STARTING[name] === undefined ? "" : STARTING[name]));
  for (const group of document.querySelectorAll("#fields details")) {
    if (FIELDS.some((name) => group.contains($("o-" + name)) && !starting(name, $("o-" + name)))) group.open = true;
  }
}

function isDefault(name, input) {
  if (DEFAULTS[name] === undefined) return false;
  return input.type === "number" ? Number(input.value) === DEFAULTS[name] : input.value === String(DEFAULTS[name]);
}

function fill(options) {
  // the form from options (an address's, an example's); given none at all, the page's starting values
  const starting = Object.keys(options).length === 0;
  for (const name of FIELDS) {
    const input = $("o-" + name), value = starting ? STARTING[name] : options[name];
    if (input.type === "checkbox") input.checked = value === true || value === "true";
    else input.value = value === undefined || value === null ? "" : value;  // left out: the command line's default
  }
  ablated = options.ablate ? String(options.ablate).split(",").filter((h) => h) : [];
  showAblated();
  openSet();
}

function options() {
  // the API's keys, as the command line takes them; what is left at its default is left out
  const o = {};
  for (const name of FIELDS) {
    const input = $("o-" + name);
    if (input.type === "checkbox") { if (input.checked) o[name] = true; }
    else if (input.value !== "" && !isDefault(name, input) && !(name === "ablate_with" && !ablated.length)) {
      o[name] = input.type === "number" ? Number(input.value) : input.value;
    }
  }
  if (!("prompt" in o)) o.prompt = "";
  if (ablated.length) o.ablate = ablated.join(",");
  if (o.score) delete o.max_new_tokens;  // the page's own 8 new tokens: --score generates nothing
  if (o.score || o.max_new_tokens === 0) delete o.kv_cache;  // the page's KV cache is for generating
  return o;
}

function showAblated() {
  const box = $("ablated-set");
  box.textContent = ablated.length ? "" : "none: click a head anywhere on the page to remove it";
  for (const h of ablated) box.appendChild(el("span", {class: "chip"}, h));
  markAblated();
}

function markAblated() {
  // on the live page every head is a control: reachable by Tab, pressed (removed) or not
  for (const e of document.querySelectorAll("[data-head]")) {
    const removed = ablated.includes(e.getAttribute("data-head"));
    e.classList.toggle("ablated", removed);
    if (!LIVE) continue;
    if (e.tagName !== "BUTTON") { e.setAttribute("tabindex", "0"); e.setAttribute("role", "button"); }
    e.setAttribute("aria-pressed", String(removed));
    if (e.tagName !== "BUTTON") e.setAttribute("aria-label", `${e.textContent} (head ${e.getAttribute("data-head")}, ${removed ? "removed: press to restore it" : "press to remove it"})`);
  }
}

function experiment(J) {
  // an experiment's object of a run's JSON: each names the token the run's experiments follow (target, versus)
  return J.patch || J.attribution || J.saliency || null;
}

function followed(page) {
  // the token the comparison follows: the experiments' target, else the model's next token after the prompt
  const E = experiment(page.json);
  return E ? E.target : page.next_id;
}

function compare(current) {
  // the answer with and without the heads removed, in a bar that stays in view at the bottom of the window;
  // current: the run with them removed (D, or a click's first answer before its page arrives)
  const now = current || D;
  const box = $("compare");
  box.textContent = "";
  document.body.classList.toggle("comparing", Boolean(ablated.length && baseline && now.json));
  if (!ablated.length || !baseline || !now.json) return;
  const id = followed(baseline.page), E = experiment(baseline.page.json);
  const versus = E ? E.versus : null;  // the grids' metric too
  const name = (i) => baseline.page.texts[i] || now.texts[i];
  const metric = (page) => {  // the grids' metric of a run: [its value, how it is written]
    if (versus === null || versus === undefined) {
      const p = page.watched[id];
      return [p, `P(${name(id)}) after the prompt: ${p === undefined ? "?" : p.toFixed(4)}`];
    }
    const [a, b] = [page.watched_logits[id], page.watched_logits[versus]];
    const v = a === undefined || b === undefined ? undefined : a - b;
    return [v, `logit(${name(id)}) - logit(${name(versus)}) after the prompt: ${v === undefined ? "?" : (v >= 0 ? "+" : "") + v.toFixed(3)}`];
  };
  const values = [metric(baseline.page)[0], metric(now)[0]].filter((v) => v !== undefined);
  const scale = Math.max(...values.map(Math.abs), versus === null || versus === undefined ? 1 : 1e-9);
  const side = (title, page, cls) => {
    const d = box.appendChild(el("div", {class: cls}));
    d.appendChild(el("b", {}, title));
    d.appendChild(el("div", {class: "answer"}, page.json.text === undefined ? page.prompt : page.json.text));
    const chips = d.appendChild(el("div", {class: "new-tokens", "aria-label": "the new tokens; a marked one differs from the other run's"}));
    const other = page === now ? baseline.page : now;
    page.generated.forEach((t, i) => chips.appendChild(el("span", {class: "tok new" + (other.generated[i] && other.generated[i][0] === t[0] ? "" : " differs")}, label(t))));
    const [v, written] = metric(page);
    d.appendChild(el("div", {class: "probability"}, written));
    const bar = d.appendChild(el("div", {class: "metric-bar"})).appendChild(el("span", {class: "bar"}));
    bar.style.width = `${v === undefined ? 0 : Math.round(Math.abs(v) / scale * 200)}px`;
    bar.style.background = v !== undefined && v < 0 ? PALETTE.down : PALETTE.up;
  };
  side("with every head", baseline.page, "without-ablation");
  side(`without ${ablated.join(", ")} (${$("o-ablate_with").value === "mean" ? "mean" : "zero"})`, now, "with-ablation");
}

function start() {
  // the first minute: what is loaded, what to do, and examples chosen for it that fill the form and run
  const box = $("start"), C = D.config, bytes = C.vocab_size <= 257;
  box.hidden = false;
  box.appendChild(el("p", {}, `Loaded: ${D.model} (n_layer ${C.n_layer}, n_head ${C.n_head}, n_embd ${C.n_embd}, n_ctx ${C.n_ctx}, vocab_size ${C.vocab_size}). Type a prompt and press Run; then click any head in the tables to remove it and see the answer without it. Or try:`));
  const founding = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat";
  const examples = bytes
    ? [["the induction head at work", {prompt: "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", max_new_tokens: 8, heads: true}],
       ["which head carries the copied byte", {prompt: "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", max_new_tokens: 0, patch: "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk", versus: "t", patch_at: "heads,values", attribution_patching: true}]]
    : [["the founding prompt, with head roles", {prompt: founding, max_new_tokens: 8, heads: true, attribute: true}],
       ["where the colour travels", {prompt: founding + " is", max_new_tokens: 0, patch: (founding + " is").replace(/yellow/g, "green"), target: " yellow", versus: " green", patch_at: "resid,heads", attribution_patching: true}]];
  for (const [name, o] of examples) {
    const b = box.appendChild(el("button", {type: "button", class: "example"}, name));
    b.onclick = () => { fill({kv_cache: true, ...o}); run(true); };
  }
}

let reading = null;  // the response being read, so that Stop can cancel it
let stopAsked = false;  // the user pressed Stop during this run
let running = null;  // the Run-Id of the run on the server: a Stop names it, and stops that run and no other

function runId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let timing = {}, clicks = [];  // each click's times (performance.now()): the benchmark reads them
let clicked = null;  // where the last click on a head was (a selector): the answer's bar must not hide it

function clearOfBar() {
  // the clicked head, if the answer's bar now covers it, scrolled just above the bar (html's scroll-padding-bottom)
  const e = clicked && document.querySelector(clicked), bar = $("compare");
  if (e && bar.childElementCount && e.getBoundingClientRect().bottom > bar.getBoundingClientRect().top) e.scrollIntoView({block: "nearest"});
}
const seenPages = new Map();  // address -> the run's page, its baseline and its heads removed: Back shows it again

async function run(inView) {
  // inView: the form's end, and the run's text below it, brought into view (an example, pressed above the form)
  const o = options();
  const query = new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)]));
  const address = "/?" + query.toString();
  if (address !== location.pathname + location.search) history.pushState(null, "", address + location.hash);  // Back: the run before
  $("problem").textContent = "";
  $("run").disabled = true;
  $("stop").disabled = false;
  try {
    if (ablated.length) {  // the comparison starts from the same run with every head: asked for first if not here
      const plain = {...o};
      delete plain.ablate;
      delete plain.ablate_with;
      if (!baseline || JSON.stringify(baseline.options) !== JSON.stringify(plain)) {
        const page = await ask(plain, []);
        if (!page) return;
        baseline = {page: page, options: plain};
      }
    }
    const follow = ablated.length ? followed(baseline.page) : null;
    const following = o.attribute || o.patch !== undefined || o.saliency;  // the experiments that follow a token
    if (follow !== null && following && o.target === undefined && o.target_id === undefined) {
      o.target_id = follow;  // removing heads must not change the question: the run with every head's token
    }
    const E = baseline && experiment(baseline.page.json);
    const versus = E ? E.versus : null;
    const watch = follow === null ? [] : [follow, ...(versus === null || versus === undefined ? [] : [versus])];
    if (follow !== null) {  // a click: its answer first, drawn at once; the tables in the full run after it
      const quick = await ask(o, watch, true);
      if (!quick) return;
      compare(quick);
      clearOfBar();
      timing.answer = performance.now();
    }
    const page = await ask(o, watch);
    if (!page) return;
    D = page;
    D.options = o;  // what ran: the lens, asked for later, is that run's
    if (!ablated.length) baseline = {page: page, options: o};
    seenPages.set(address, {page: page, baseline: baseline, ablated: [...ablated]});
    render();
    if (inView) $("run").scrollIntoView({block: "start"});
    compare();
    clearOfBar();
    timing.page = performance.now();
  } catch (e) {
    $("problem").textContent = e.message;
    $("status").textContent = "";
  } finally {
    reading = running = null;
    $("run").disabled = false;
    $("stop").disabled = true;
    $("progress").hidden = true;
  }
}

async function ask(o, watch, answerOnly) {
  // one run on the server: its events as they come, then its page's data, or with answerOnly the answer a click
  // needs first (null if it was stopped)
  $("stream").textContent = "";
  $("status").textContent = answerOnly ? "computing the answer..." : "running...";
  running = runId();
  stopAsked = false;
  const response = await fetch("/api/page", {method: "POST", headers: {"Content-Type": "application/json", "Run-Id": running},
                                              body: JSON.stringify({options: o, watch: watch, answer_only: Boolean(answerOnly),
                                                                    lens: $("lens-section").open})});
  if (!response.ok) {
    const answer = await response.json().catch(() => ({error: `the server answered ${response.status}`}));
    throw new Error(answer.error);
  }
  reading = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", page = null, stopped = false, notes = 0;
  $("notes").textContent = "";
  for (;;) {
    let value, done;
    try {
      ({value, done} = await reading.read());
    } catch (e) {
      if (stopAsked) break;
      throw new Error("the connection to the server broke during the run: the server may have stopped; see its console");
    }
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (!line) continue;  // the server's check that the page is still there
      const e = JSON.parse(line);
      if (e.token) $("stream").textContent += e.text;
      if (e.note) $("notes").textContent += (notes++ ? " " : "") + "Note: " + e.note;
      if (e.progress) {
        const bar = $("progress");
        bar.hidden = false;
        bar.max = e.progress.total;
        bar.value = e.progress.done;
        $("status").textContent = `${e.progress.what}: ${e.progress.done} of ${e.progress.total}`;
      }
      if (e.page) { page = e.page; $("status").textContent = "done"; }
      if (e.answer) { page = e.answer; $("status").textContent = "the answer is in; the tables follow..."; }
      if (e.error) throw new Error(e.error);  // a failure after the stream began: its sentence
      if (e.stopped) stopped = true;
    }
  }
  if (!page && !stopped && !stopAsked) throw new Error("the server ended the run before its end without saying why: it may have stopped; see its console");
  if (!page) $("status").textContent = "stopped";
  return page;
}

async function lensWhenOpened() {
  // the logit lens of the run shown, asked of the server when its section is opened
  if (!$("lens-section").open || !D.json || D.lens || !D.options || $("run").disabled) return;
  lens();
  const answer = await fromServer("/api/lens", {});
  if (!answer) return;
  D.lens = answer.lens;
  Object.assign(D.texts, answer.texts);
  lens();
}

async function fromServer(path, asked) {
  // a part of the run shown that the live server computes only when it is shown: asked with the run's options;
  // the answer, or null once its mistake is said
  const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify({options: D.options, ...asked})});
  const answer = await response.json().catch(() => ({error: `the server answered ${response.status}`}));
  if (response.ok && !answer.error) return answer;
  $("problem").textContent = answer.error;
  return null;
}

if (LIVE) {
  drawForm(D.form);
  $("lens-section").addEventListener("toggle", lensWhenOpened);
  $("ask").hidden = false;
  $("ask").addEventListener("submit", (e) => { e.preventDefault(); clicked = null; run(); });
  $("stop").onclick = () => {
    stopAsked = true;
    if (running) fetch("/api/stop", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({run: running})});
    if (reading) reading.cancel();
  };
  $("clear").onclick = () => { ablated = []; clicked = null; showAblated(); run(); };
  document.addEventListener("keydown", (e) => {  // a head cell is a button: Enter or Space presses it
    if ((e.key === "Enter" || e.key === " ") && e.target.matches("[data-head]:not(button)")) { e.preventDefault(); e.target.click(); }
  });
  document.addEventListener("click", (e) => {
    const target = e.target.closest("[data-head]");
    if (!target) return;
    if ($("run").disabled) {  // said, not dropped
      $("status").textContent = "a run is under way: wait for its answer (or press Stop) before removing another head";
      return;
    }
    const h = target.getAttribute("data-head"), holder = target.closest("[id]");
    clicked = `${holder ? "#" + holder.id + " " : ""}[data-head="${h}"]`;
    timing = {click: performance.now()};  // when the click came, its answer was drawn, its page was drawn
    clicks.push(timing);
    target.classList.add("working");  // at once, where the click was
    target.setAttribute("aria-busy", "true");
    ablated = ablated.includes(h) ? ablated.filter((x) => x !== h) : [...ablated, h];
    showAblated();
    run();
  });
  const fromAddress = () => {
    const query = new URLSearchParams(location.search);
    fill(Object.fromEntries(query.entries()));
    const seen = seenPages.get(location.pathname + location.search);
    if (seen) {  // Back (or Forward) to a run of this page: shown again, not run again
      ({page: D, baseline} = seen);
      ablated = [...seen.ablated];
      showAblated();
      $("stream").textContent = D.json.text === undefined ? D.prompt : D.json.text;
      $("status").textContent = "done (shown again)";
      render();
      compare();
    } else if (query.has("prompt")) {  // a run in the address waits for the user: a page elsewhere may have opened it
      $("status").textContent = "this address holds a run: check it above, then press Run";
      $("run").focus();
    }
  };
  window.addEventListener("popstate", fromAddress);
  start();
  render();
  fromAddress();
} else {
  $("lens-section").open = true;  // --report: the lens is in the file
  $("offline-note").hidden = false;
  render();
}
let resizing = null;  // the drawing's layout follows its width: drawn again once a resize has settled
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    if (D.json && Math.abs($("anatomy").clientWidth - Number($("anatomy").dataset.width)) > 20) redrawn(drawModel);
  }, 150);
});
document.body.setAttribute("data-ready", "yes");
