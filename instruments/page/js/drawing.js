// ---- GPT-2 drawn: its stages as the code runs them, the run's numbers on them, the code behind each ----

const stageShown = {key: null, block: null, part: null};  // the stage whose panel is open (part: which LayerNorm)

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
  if (measure) {  // the shading's key: signed measures run from orange through the page to blue, the others from it to blue
    const signed = [...Array(C.n_layer * C.n_head).keys()].some((i) => measure[1](Math.floor(i / C.n_head), i % C.n_head) < 0);
    choose.after(legend(`${measure[0]}: ${signed ? measure[2](-1) : measure[2](0)}`, measure[2](1), signed));
  }
  const row = box.appendChild(el("div", {class: "model"}));
  const figure = row.appendChild(el("div", {class: "diagram", role: "group", "aria-label": "GPT-2's stages in the order the code runs them"}));
  // the geometry, in CSS pixels: the stream at x = X; a branch holds a LayerNorm, then attention and its heads, or the MLP
  box.dataset.width = box.clientWidth;
  const room = Math.max(300, Math.min(box.clientWidth || 900, 1200)), narrow = room < 700;
  // wide: each block on one row, the MLP right of attention's heads (GPT-2 124M fits a laptop's screen); narrow (a
  // phone): the MLP under attention, the logit lens's guesses in the gutter
  figure.classList.toggle("one-row", !narrow);
  const X = narrow ? 104 : 150, LN = X + 24, SUB = LN + 42, HEAD = 20, HEADS = SUB + 84, MLP = narrow ? 0 : 140;
  const perLine = Math.max(4, Math.min(C.n_head, Math.floor((room - HEADS - 30 - (narrow ? 0 : MLP + 150)) / HEAD)));
  const headRows = Math.ceil(C.n_head / perLine), right = HEADS + perLine * HEAD + 14, GUESS = right + MLP + 16;
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
  const adds = (text, title, y, before) => was(put(el("span", {class: "adds", title: title}, text), X - 11, y - 8, "left-of"), before, text);
  // after a click, a number that changed shows what it was in the run with every head (B: that run's anatomy)
  const B = LIVE && ablated.length && baseline && baseline.page !== D ? baseline.page.anatomy : null;
  const gap = B && narrow ? 14 : 0;  // room under each addition for what it was (a wide drawing says it beside)
  const ending = D.tokens.slice(-3).map(label).join(" ");
  stage("tokens", null, `tokens: ${D.tokens.length > 3 ? "\u2026 " : ""}${ending}`, 4, 0).title = `the prompt's ${D.tokens.length} tokens, as ids`;
  wire([[X, 22], [X, 27]]);
  stage("embedding", null, "embedding: wte[ids] + wpe", X, 28, null, "centred");
  put(el("span", {class: "caption-small", title: "each position's vector of n_embd numbers, only ever added to"}, "the residual stream"), X + 10, 56);
  let y = 78;
  for (let L = 0; L < C.n_layer; L++) {
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
    const attnEnd = HEADS + Math.min(perLine, C.n_head) * HEAD, joinA = y + Math.max(22, headRows * HEAD) + 8;
    wire([[attnEnd, y + 11], [right, y + 11], [right, joinA], [X + 8, joinA]]);
    plus(joinA);
    adds(`+${length(V.attn[L].last).toFixed(1)}`, `the length of what attention adds to the stream at the last position (its L2 norm); the stream's is ${length(V.states[L].last).toFixed(1)} before`, joinA,
         B && `+${length(B.values.attn[L].last).toFixed(1)}`);
    // the MLP reads the stream after attention's addition: its branch leaves the stream below that plus
    const mlpY = narrow ? joinA + 12 + gap : y, into = narrow ? mlpY + 11 : joinA + 10, at = narrow ? LN : right + 26;
    wire(narrow ? [[X, into], [at, into]] : [[X, into], [right + 12, into], [right + 12, y + 11], [at, y + 11]]);
    stage("layer_norm", L, "LN", at, mlpY, "ln_2");
    wire([[at + 32, mlpY + 11], [at + 42, mlpY + 11]]);
    stage("mlp", L, "MLP", at + 42, mlpY);
    const joinM = narrow ? mlpY + 32 : into + 10;
    wire([[at + 82, mlpY + 11], [at + 98, mlpY + 11], [at + 98, joinM], [X + 8, joinM]]);
    plus(joinM);
    adds(`+${length(V.mlp[L].last).toFixed(1)}`, "the length of what the MLP adds to the stream at the last position (its L2 norm)", joinM,
         B && `+${length(B.values.mlp[L].last).toFixed(1)}`);
    const [guess, p] = A.guesses[L + 1], then = B && B.guesses[L + 1], guessed = `${D.texts[guess]} ${p.toFixed(2)}`;
    was(put(el("span", {class: "guess", title: `the logit lens after block ${L}, at the last position: ${D.texts[guess]}, with probability ${p.toFixed(3)}, is what the model would predict if it stopped here`},
               `\u2192 ${guessed}`), narrow ? 4 : GUESS, narrow ? mlpY + 2 : joinM - 9, narrow ? "in-gutter" : null),
        then && `${baseline.page.texts[then[0]]} ${then[1].toFixed(2)}`, guessed);
    y = joinM + (narrow ? 12 + gap : 8);
  }
  if (!narrow) put(el("span", {class: "caption-small", title: "the logit lens at the last position: what the model would predict if it stopped after the block"}, "logit lens"), GUESS, 60);
  svg(wires, "line", {x1: X, y1: 50, x2: X, y2: y - 4, class: "stream"});
  wire([[X, y - 4], [X, y + 5]]);
  const unembed = stage("unembed", null, `final LN, x @ wte.T: [${D.tokens.length}, ${C.vocab_size}]`, X - 40, y + 6);
  wire([[X, y + 29], [X, y + 41]]);
  const softmax = stage("softmax", null, "softmax: the next token", X - 40, y + 42);
  // the likeliest tokens: beside the softmax on a wide drawing, under it on a narrow one
  const listX = narrow ? X - 60 : X - 10 + Math.max(unembed.offsetWidth, softmax.offsetWidth), listY = y + (narrow ? 72 : 20);
  if (!narrow) wire([[X - 40 + softmax.offsetWidth, y + 53], [listX - 6, y + 53]]);
  const top = put(el("ol", {class: "top-five", "aria-label": "the likeliest next tokens"}), listX, listY);
  A.top.forEach(([id, p], rank) => {
    const li = top.appendChild(el("li", {}, `${D.texts[id]} ${p.toFixed(2)} `));
    li.appendChild(el("span", {class: "bar"})).style.width = `${Math.round(p * 120)}px`;
    was(li, B && `${baseline.page.texts[B.top[rank][0]]} ${B.top[rank][1].toFixed(2)}`, `${D.texts[id]} ${p.toFixed(2)}`);
  });
  const height = Math.max(y + 64, listY + 18 * A.top.length) + 8, width = narrow ? room : Math.max(GUESS + 150, listX + 250);
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

function was(node, before, now) {
  // node shows now; before is what it was in the run with every head: said with it, and in data-was, if it differs
  if (before && before !== now) {
    node.setAttribute("data-was", before);
    node.classList.add("changed");
    if (node.classList.contains("in-gutter")) node.title += `; with every head it was ${before}`;  // a phone's gutter has no room
    else node.appendChild(el("span", {class: "was"}, `was ${before}`));
  }
  return node;
}
