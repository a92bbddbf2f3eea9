// ---- the prompt's tokens (shaded by --saliency), and the logit lens at every position ----

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
  $("steps").prepend(el("p", {class: "how", id: "saliency-how"}, "Saliency (gradient times input): each prompt token is shaded by its embedding dotted with the gradient there of the followed token's log-probability (of the logit difference, with versus), the first-order share of it that the token holds; blue pushed the metric up, orange down, the stronger the more. Hover for the number."));
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
