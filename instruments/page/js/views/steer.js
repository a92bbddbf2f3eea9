function steering(S) {
  // --steer: what was added where; with a continuation, the steered one beside the one without steering
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
