function headRoles(H) {
  // --heads: a table of heads per role, each cell the head's score for it
  const box = section("Head roles", `Four scores per head, each between 0 and 1: previous-token (position t looks at t-1), first-token (t looks at position 0), induction (on ${H.period} random tokens repeated, t looks at the token after t's earlier occurrence) and duplicate-token (t looks at that earlier occurrence itself). A dark cell is a head that does that one thing.`);
  box.appendChild(legend("score: 0", "1"));
  for (const [column, role, meaning] of D.roles) {  // HeadScores' column of each role, from the Python side
    box.appendChild(el("p", {}, `${role}: ${meaning}`));
    const table = captioned(headTable(`heads-${role}`, (b, h) => { const s = H.scores[b * D.config.n_head + h][column]; return [s.toFixed(2), s, `${role} ${s.toFixed(3)}`]; }), `${role} score of each head, 0 to 1`);
    table.setAttribute("data-role", role);
    box.appendChild(table);
  }
}

function roleMeasures(H) {
  const n = D.config.n_head;
  return D.roles.map(([column, role]) => [`${role} score`, (b, h) => H.scores[b * n + h][column], (v) => v.toFixed(2)]);
}
