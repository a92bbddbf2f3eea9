function whyAttends(W) {
  // --why-attends: the head's score at one cell, split into (query part) x (key part), and the weights' composition
  whyTable(section(`Why head ${W.head} attends here`, whySentence(W)), W, "why");
}

function whySentence(W) {
  const name = (t) => label(D.tokens[t]);
  return `Head ${W.head}, at ${name(W.query)} (position ${W.query}), gives ${name(W.key)} (position ${W.key}) the weight ${W.weight.toFixed(3)}: its score q·k/√d_head is ${W.score.toFixed(3)}. With ln_1's scale frozen, the query and the key are each a sum of what every earlier part wrote into the stream, so the score is a table of (query part) × (key part) that adds up to it exactly. The largest cells:`;
}

function whyTable(box, W, id) {
  const cells = [];
  W.table.forEach((row, i) => row.forEach((v, j) => cells.push([v, i, j])));
  cells.sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]));
  const biggest = Math.abs(cells[0][0]) || 1;
  const table = box.appendChild(captioned(el("table", {id: id, "data-why": W.head}), `the 12 largest cells of head ${W.head}'s score at (${W.query}, ${W.key})`));
  const top = table.appendChild(el("tr"));
  for (const h of ["query part", "key part", "share of the score"]) top.appendChild(el("th", {}, h));
  for (const [v, i, j] of cells.slice(0, 12)) {
    const tr = table.appendChild(el("tr", {"data-part": `${W.parts[i]}|${W.parts[j]}`, "data-value": v}));
    tr.appendChild(el("td", {}, W.parts[i]));
    tr.appendChild(el("td", {}, W.parts[j]));
    tr.appendChild(el("td", {style: paint(v / biggest)}, (v >= 0 ? "+" : "") + v.toFixed(3)));
  }
  box.appendChild(legend(`pulls the score down (${(-biggest).toFixed(2)})`, `up (+${biggest.toFixed(2)})`, true));
  const best = (kind) => Object.entries(W.composition[kind]).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([h, s]) => `${h} ${s.toFixed(3)}`).join(", ");
  if (Object.keys(W.composition.q).length) {
    box.appendChild(el("p", {}, `The weights alone (composition scores, whatever the text): Q ${best("q")}; K ${best("k")}; V ${best("v")}. The table is this prompt's: a head the weights wire to this one may have written little here.`));
  }
}
