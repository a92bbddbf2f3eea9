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
  if (key === "attention") arithmetic(panel, block, S.code);
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
  scrollersFocusable();
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

function arithmetic(panel, block, code, at = {}) {
  // one head's arithmetic at one query position, step by step, each beside the line of attention.py that does it.
  // at.heads: the block's heads there (anatomy.arithmetic; the data holds the last position's, /api/why another's);
  // at.head: the one shown first; at.id: the id of its box
  const heads = at.heads || D.anatomy.values.heads[block], C = D.config, d = C.n_embd / C.n_head;
  const query = heads.query, n = query + 1, last = query === D.tokens.length - 1, where = last ? "the last position" : `position ${query}`;
  const line = (pattern) => {  // "attention.py, line N" of the first line of the stage's code that matches
    for (const c of code) {
      const i = c.lines.findIndex((l) => pattern.test(l));
      if (i >= 0) return `${c.file}, line ${c.first + i}: ${c.lines[i].trim()}`;
    }
    return "";
  };
  panel.appendChild(el("h4", {}, `This run: one head's arithmetic at ${where}, ${label(D.tokens[query])}`));
  const pick = panel.appendChild(el("p", {class: "head-pick"}, "head: "));
  const box = panel.appendChild(el("div", {id: at.id || "arithmetic"}));
  const mask = last ? "0 for every key at or before the query: the last position sees all"
    : `0 for every key at or before the query; the ${D.tokens.length - n} after it get \u2212\u221e, so weight 0, and are left out here`;
  const show = (h) => {
    const qk = heads.qk[h], w = heads.weights[h];
    pick.querySelectorAll("button").forEach((b, i) => b.setAttribute("aria-pressed", String(i === h)));
    box.textContent = "";
    const steps = [[`q \u00b7 k for each key, \u00f7 \u221ad_head (\u221a${d} = ${Math.sqrt(d).toFixed(3)}; the code divides q first, the same numbers for less work)`, line(/scores = /)],
                   [`+ the mask (${mask})`, line(/scores \+= mask/)],
                   ["softmax: the weights, adding up to 1", line(/return softmax\(scores\)/)]];
    for (const [what, source] of steps) box.appendChild(el("p", {class: "step"}, source ? `${what} \u2014 ${source}` : what));
    const table = box.appendChild(captioned(el("table", {"data-arithmetic": `${block}.${h}`, "data-query": String(query)}), `head ${block}.${h} at ${where}: each key's score and weight`));
    const top = table.appendChild(el("tr"));
    for (const name of ["key", "q \u00b7 k", "\u00f7 \u221ad", "+ mask", "weight"]) top.appendChild(el("th", {}, name));
    const keys = qk.map((_, j) => j);
    const shown = n <= 64 ? keys : keys.sort((a, b) => w[b] - w[a]).slice(0, 64).sort((a, b) => a - b);
    if (shown.length < n) box.appendChild(el("p", {class: "step"}, `the 64 keys of the largest weight, of ${n}, in their order:`));
    shown.forEach((j) => {
      const v = qk[j];
      const tr = table.appendChild(el("tr", {"data-key": String(j)}));
      for (const text of [`${j} ${label(D.tokens[j])}`, v.toFixed(3), (v / Math.sqrt(d)).toFixed(3), (v / Math.sqrt(d)).toFixed(3), w[j].toFixed(4)]) tr.appendChild(el("td", {}, text));
      tr.lastChild.style.cssText = paint(w[j]);  // through the CSSOM: the live page's policy refuses style attributes
    });
    box.appendChild(el("p", {class: "step"}, `the weighted sum of the values: the head's output, ${d} numbers \u2014 ${line(/weights @ v|@ v\[/)}`));
    vectorView(box, heads.out[h], `head ${block}.${h}'s output at ${where} (${stats(heads.out[h])}), before c_proj`);
  };
  for (let h = 0; h < C.n_head; h++) {
    const b = pick.appendChild(el("button", {type: "button", "aria-pressed": "false"}, String(h)));
    b.onclick = () => show(h);
  }
  show(at.head || 0);
}
