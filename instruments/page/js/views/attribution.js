function attribution(A, J, text) {
  // --attribute: the metric split into what each part of the network added, the largest parts as bars
  const what = A.versus === null ? `The logit of ${text(A.target)}` : `The logit difference ${text(A.target)} minus ${text(A.versus)}`;
  const box = section("Direct logit attribution", `${what} (${A.logit.toFixed(3)}) split into what each part of the network added to the final residual stream, with the final LayerNorm's scale frozen. Blue bars pushed it up, orange ones down. The 20 largest parts:`);
  const parts = [...A.parts].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 20);
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
  box.appendChild(el("p", {}, `All ${A.parts.length} parts add up to ${A.parts.reduce((s, p) => s + p[1], 0).toFixed(3)}.`));
}

function attributionMeasure(A) {
  const parts = Object.fromEntries(A.parts), top = Math.max(...A.parts.map((p) => Math.abs(p[1]))) || 1;
  return [["direct logit attribution", (b, h) => (parts[`${b}.${h}`] === undefined ? null : parts[`${b}.${h}`] / top), (v) => (v * top).toFixed(3)]];
}
