function selfRepair(R, J, text) {
  // --self-repair: the metric's change after --ablate split into what each part lost or made up for, largest first
  const what = R.versus === null ? `logit(${text(R.target)})` : `logit(${text(R.target)}) - logit(${text(R.versus)})`;
  const removed = (J.ablate || []).map(([b, h]) => `${b}.${h}`);
  const box = section("Who made up for it", `${what} is ${R.clean.toFixed(3)} with every head and ${R.ablated.toFixed(3)} without ${removed.join(", ")}: a change of ${R.change.toFixed(3)}. With ln_f's scale frozen at the run with every head, the change splits exactly into each part's direct effect without the heads minus with them, and what the change of the scale did (layer_norm). The removed heads' parts are what they no longer write; a bar against theirs made up for part of it.`);
  const parts = Object.entries(R.parts).filter(([, v]) => Math.abs(v) >= 5e-4).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  const biggest = Math.max(...parts.map(([, v]) => Math.abs(v)), 1e-9);
  const table = box.appendChild(captioned(el("table", {id: "self-repair", "data-self-repair": ""}), "the parts of the change, largest first"));
  for (const [name, value] of parts) {
    const tr = table.appendChild(el("tr", {"data-part": name, "data-value": value, ...(/^\d+\.\d+$/.test(name) ? {"data-head": name} : {})}));
    tr.appendChild(el("th", {class: "row"}, name + (removed.includes(name) ? " (removed)" : "")));
    tr.appendChild(el("td", {}, (value >= 0 ? "+" : "") + value.toFixed(3)));
    const bar = tr.appendChild(el("td")).appendChild(el("span", {class: "bar"}));
    bar.style.width = `${Math.round(Math.abs(value) / biggest * 300)}px`;
    bar.style.background = value > 0 ? PALETTE.up : PALETTE.down;
  }
  const total = Object.values(R.parts).reduce((s, v) => s + v, 0);
  box.appendChild(el("p", {}, `All ${Object.keys(R.parts).length} parts add up to ${total.toFixed(3)}, the change (${Object.keys(R.parts).length - parts.length} moved by less than 0.0005 and are not listed).`));
}
