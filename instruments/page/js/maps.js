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
  if (e.key === "Enter") askWhy();
});
$("map").addEventListener("click", () => askWhy());

function askWhy() {
  // a click on a cell of one head's map: why that head looks there (asked of the live server: whyHere)
  const box = $("why-here");
  if (!D.json || !view.cell || view.cell[1] > view.cell[0]) return;
  if (view.head < 0) { box.textContent = "Choose one head (not the average) to ask why it looks at a cell."; return; }
  if (!LIVE) { box.textContent = "On the live page (./run.sh --serve), a click on a cell says why the head looks there."; return; }
  whyHere(view.block, view.head, ...view.cell);
}

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
