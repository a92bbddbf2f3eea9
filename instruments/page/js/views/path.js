function pathPatching(R, J, text) {
  // --path: each head's direct path to the receiver, from the corrupted run
  const P = J.patch;
  const format = formatter(P), span = (P.clean - P.corrupted) || 1;
  const receiver = R.receiver === "logits" ? "the logits" : `the ${{q: "queries", k: "keys", v: "values"}[R.receiver[2]]} of head ${R.receiver[0]}.${R.receiver[1]}`;
  const box = section("Path patching", `Each cell is a run of the prompt in which that head's output comes from the corrupted run and reaches ${receiver} only directly: every other head's output is frozen at its value in the prompt's run. It shows ${metricName(P, text)} (${format(P.clean)} unchanged, ${format(P.corrupted)} for the corrupted prompt); the darker the cell, the more of the answer that head's direct path carries. Empty cells are heads that cannot send to the receiver.`);
  box.appendChild(captioned(headTable("path", (b, h) => {
    const v = R.grid[b][h];
    return v === null ? ["", 0, "not a sender"] : [format(v), (P.clean - v) / span, `${metricName(P, text)} = ${format(v)}`];
  }), `path patching to ${receiver}: the metric with each head's direct path from the corrupted run`));
}
