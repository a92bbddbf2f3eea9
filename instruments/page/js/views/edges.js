function edgeGraph(E, J, text) {
  // --edges: the circuit's strongest edges, a graph by block; each edge's exact path patch, asked of the live server
  const P = J.patch, format = formatter(P);
  const box = section("Edges of the circuit", `Each line is an edge: what one part wrote into the residual stream (the embeddings, a head, an MLP) as one later reader reads it (a head's queries, keys or values, an MLP, the logits). Its number is an estimate from one backward pass of the corrupted run: the writer's change (prompt's run minus corrupted) dotted with the gradient of ${metricName(P, text)} at that reader's own input. Blue raises the metric, orange lowers it; the wider, the more. A straight line through the corrupted run misses much of a change that passes through a softmax or a LayerNorm: an edge from a head to the logits or to a head's queries, keys or values has an exact path patch beside it, a run away.`);
  const field = box.appendChild(el("p"));
  field.appendChild(el("label", {for: "edges-shown"}, "edges shown (the strongest): "));
  const shown = field.appendChild(el("input", {id: "edges-shown", type: "number", min: "1", max: String(Math.min(100, E.edges.length)), value: String(Math.min(12, E.edges.length))}));
  const holder = box.appendChild(el("div", {id: "edges"}));
  const draw = () => {
    holder.textContent = "";
    const n = Math.max(1, Math.min(Number(shown.value) || 12, 100, E.edges.length));
    edgePicture(holder, E.edges.slice(0, n), format);
    edgeTable(holder, E.edges.slice(0, n), format, P);
    scrollersFocusable();
  };
  shown.addEventListener("change", draw);
  draw();
}

function edgeNode(name) {
  // [column, row] of a node in the graph: the embeddings left, each block a column (its heads, then its MLP), the
  // logits right; a receiver "L.H.q" sits on its head
  const C = D.config;
  if (name === "embed") return [0, (C.n_head) / 2];
  if (name === "logits") return [C.n_layer + 1, (C.n_head) / 2];
  const [block, part] = name.split(".");
  return [Number(block) + 1, part === "mlp" ? C.n_head : Number(part)];
}

function edgePicture(holder, edges, format) {
  const C = D.config, across = 110, down = 32, room = 48;
  const width = room * 2 + 40 + across * (C.n_layer + 1), height = down * (C.n_head + 1) + 20;
  const picture = svg(holder, "svg", {viewBox: `0 0 ${width} ${height}`, width: String(width), height: String(height),
                                      role: "img", "aria-label": `the ${edges.length} strongest edges, drawn by block; the table below lists them`});
  const at = (name) => { const [c, r] = edgeNode(name); return [room + c * across, 36 + r * down]; };
  const used = new Set(edges.flatMap((e) => [e.from, e.to.replace(/\.[qkv]$/, "")]));
  for (let b = 0; b < C.n_layer; b++) {
    const t = svg(picture, "text", {x: String(room + (b + 1) * across), y: "14", "text-anchor": "middle", class: "edge-label"});
    t.textContent = `block ${b}`;
  }
  const biggest = Math.abs(edges[0].score) || 1;
  for (const e of edges) {
    const [x1, y1] = at(e.from), [x2, y2] = at(e.to.replace(/\.[qkv]$/, ""));
    const shift = {q: -5, k: 0, v: 5}[e.to.slice(-1)] || 0;  // queries, keys and values meet their head apart
    const line = svg(picture, "line", {x1: String(x1), y1: String(y1), x2: String(x2 - 6), y2: String(y2 + shift),
                                       stroke: `rgb(${e.score >= 0 ? BLUE : ORANGE})`, "stroke-width": String(0.75 + 5 * Math.abs(e.score) / biggest),
                                       "stroke-opacity": "0.8", "data-edge": `${e.from}>${e.to}`});
    svg(line, "title", {}).textContent = `${e.from} -> ${e.to}: ${format(e.score)}`;
  }
  for (const name of used) {
    const [x, y] = at(name);
    svg(picture, "circle", {cx: String(x), cy: String(y), r: "5", class: "edge-node"});
    const t = svg(picture, "text", {x: String(x + 8), y: String(y - 7), class: "edge-label"});
    t.textContent = name;
  }
}

function exactOf(edge) {
  // the --path run that gives this edge's exact value: a head to the logits, or to a head's q, k or v; else null
  if (!/^\d+\.\d+$/.test(edge.from)) return null;
  if (edge.to === "logits") return "logits";
  return /^\d+\.\d+\.[qkv]$/.test(edge.to) ? edge.to : null;
}

function edgeTable(holder, edges, format, P) {
  const table = holder.appendChild(captioned(el("table", {id: "edges-table"}), "the strongest edges: each estimate, and its exact path patch where one exists"));
  const top = table.appendChild(el("tr"));
  for (const h of ["from", "to", "estimate", "exact (path patching)"]) top.appendChild(el("th", {}, h));
  for (const e of edges) {
    const tr = table.appendChild(el("tr", {"data-edge": `${e.from}>${e.to}`}));
    tr.appendChild(el("td", {}, e.from));
    tr.appendChild(el("td", {}, e.to));
    tr.appendChild(el("td", {}, format(e.score)));
    const cell = tr.appendChild(el("td"));
    const path = exactOf(e);
    if (!path) { cell.textContent = "none (an MLP or the embeddings)"; continue; }
    if (!LIVE || !D.options) { cell.textContent = `--path ${path} gives it (on the live page, a button)`; continue; }
    const button = cell.appendChild(el("button", {type: "button", "data-path": path}, "run it"));
    button.addEventListener("click", () => exactEdge(e, path, cell, format, P));
  }
}

async function exactEdge(edge, path, cell, format, P) {
  // the edge's exact value: the metric of the prompt's run less that of the run whose path from this head to the
  // receiver alone is the corrupted one's (--path), beside the estimate
  cell.textContent = "running...";
  const kept = ["prompt", "patch", "versus", "ablate", "ablate_with", "steer", "steer_against", "steer_at", "steer_coef"];
  const options = Object.fromEntries(kept.filter((k) => D.options[k] !== undefined).map((k) => [k, D.options[k]]));
  Object.assign(options, {target_id: P.target, path: path, max_new_tokens: 0});
  const response = await fetch("/api/run", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(options)});
  const answer = await response.json().catch(() => ({error: `the server answered ${response.status}`}));
  if (!response.ok || answer.error) { cell.textContent = answer.error || "the server could not run it"; return; }
  const [block, head] = edge.from.split(".").map(Number);
  const exact = answer.patch.clean - answer.path.grid[block][head];
  cell.textContent = `${format(exact)} (the estimate is ${Math.round(100 * edge.score / exact)}% of it)`;
  cell.setAttribute("data-exact", String(exact));
}
