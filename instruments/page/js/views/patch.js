function metricName(P, text) {
  return P.versus === null ? `P(${text(P.target)})` : `logit(${text(P.target)}) - logit(${text(P.versus)})`;
}
const formatter = (P) => (v) => (P.metric === "probability" ? v.toFixed(3) : (v >= 0 ? "+" : "") + v.toFixed(2));

function patching(P, J, text) {
  // --patch: each grid of runs with one thing put back, and beside it, with --attribution-patching, its estimate
  const span = (P.clean - P.corrupted) || 1, format = formatter(P), share = (v) => (v - P.corrupted) / span;
  const written = (v) => `${format(v)}, ${Math.round(share(v) * 100)}% of the difference`;  // a cell's title: the metric, the share
  section("Activation patching", `${metricName(P, text)} is ${format(P.clean)} for the prompt and ${format(P.corrupted)} for the corrupted prompt. Each cell is a run of the corrupted prompt with one thing put back from the prompt's run, and shows the metric of that run; the darker the cell, the more of the difference came back: what the model needed from the difference went through that one thing. Blue brings the answer back (the share of the difference), orange pushes it further from the prompt's. Hover for the number.`);
  $("experiments").appendChild(legend("pushes it further away", "brings all of the difference back (share of the difference, 0 in the middle)", true));
  for (const [key, kind, what, byPosition] of D.patch_kinds) {  // patch.py's KINDS: --json's key, the kind, what it puts back
    const estimate = J.attribution_patching && J.attribution_patching[key];
    if (!P[key] && !estimate) continue;
    const box = $("experiments");
    box.appendChild(el("h3", {}, kind));
    box.appendChild(el("p", {class: "how"}, "Put back: " + what + "." + (P[key] ? "" : " Estimated only (--estimate-only): the exact grid was not run.")));
    const both = estimate && P[key];
    const where = both ? box.appendChild(el("div", {class: "side-by-side"})) : box;
    const grids = [["exact", P[key]], ["estimated (attribution patching)", estimate]].filter(([, cells]) => cells);
    for (const [name, cells] of grids) {
      const column = both ? where.appendChild(el("div", {"data-grid": name, tabindex: "0", role: "region", "aria-label": `${kind}: ${name}`})) : where;
      if (estimate) column.appendChild(el("p", {}, name + ":"));
      const id = name === "exact" ? `patch-${kind}` : `estimate-${kind}`;
      const note = (v, r, c) => (name === "exact" || !P[key] ? "" : `; exact ${format(P[key][r][c])}, error ${format(v - P[key][r][c])}`);
      if (byPosition) {
        const rows = cells.map((row, r) => row.map((v, t) => (v === null ? null : {v: v, title: written(v) + note(v, r, t)})));
        column.appendChild(captioned(positionTable(id, rows, (r) => (r < 0 ? (key === "resid" ? "layer" : "block") : String(r)), share, format), `${kind} patching, ${name}: the metric with each cell put back`));
      } else {
        column.appendChild(captioned(headTable(id, (b, h) => [format(cells[b][h]), share(cells[b][h]), `${metricName(P, text)} = ${written(cells[b][h])}${note(cells[b][h], b, h)}`]), `${kind} patching, ${name}: the metric with each head's ${kind === "heads" ? "output" : kind} put back`));
      }
    }
    if (both) box.appendChild(el("p", {class: "agreement"}, agreement(P[key], estimate, format, P.corrupted,
      (i, c) => (byPosition ? `${key === "resid" ? "layer" : "block"} ${i} at position ${c}` : `head ${i}.${c}`))));
  }
}

function agreement(exact, estimate, format, corrupted, name) {
  // the correlation of the cells both grids hold, the share of each of the largest exact effects that the estimate
  // recovers (a correlation of 1.000 may come with 65% of the effect), the largest error, and where the line fails
  const pairs = [];
  exact.forEach((row, r) => row.forEach((v, c) => { if (v !== null) pairs.push([v, estimate[r][c]]); }));
  const mean = (k) => pairs.reduce((s, p) => s + p[k], 0) / pairs.length;
  const [me, ma] = [mean(0), mean(1)];
  const cov = pairs.reduce((s, [e, a]) => s + (e - me) * (a - ma), 0);
  const ve = pairs.reduce((s, [e]) => s + (e - me) ** 2, 0), va = pairs.reduce((s, [, a]) => s + (a - ma) ** 2, 0);
  const r = ve > 0 && va > 0 ? (cov / Math.sqrt(ve * va)).toFixed(3) : "undefined (a grid is constant)";
  const worst = Math.max(...pairs.map(([e, a]) => Math.abs(a - e)));
  const cells = [];
  exact.forEach((row, i) => row.forEach((v, c) => { if (v !== null && v !== corrupted) cells.push([v - corrupted, estimate[i][c] - corrupted, i, c]); }));
  cells.sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]));
  const shares = cells.slice(0, 3).map(([e, a, i, c]) => `${name(i, c)}: ${Math.round(100 * a / e)}%`).join(", ");
  return `Correlation of the estimate with the exact grid: ${r}; of the largest exact effects, the estimate recovers ${shares || "nothing (no cell changes the metric)"}; the largest error: ${format(worst).replace("+", "")}. Each estimate is the corrupted run's metric plus (clean - corrupted) · its gradient, a straight line through the corrupted run: right for a small change, short of a large one that passes through a softmax or a LayerNorm. Hover an estimated cell for its exact value and its error.`;
}

function patchingMeasures(P, J) {
  if (!P.heads) return [];
  const span = (P.clean - P.corrupted) || 1, share = (v) => `${(v * 100).toFixed(0)}% of the difference`;
  const out = [["patching effect (heads)", (b, h) => (P.heads[b][h] - P.corrupted) / span, share]];
  const E = J.attribution_patching;
  if (E && E.heads) out.push(["attribution patching's estimate (heads)", (b, h) => (E.heads[b][h] - P.corrupted) / span, share]);
  return out;
}
