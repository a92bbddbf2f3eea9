function copyingScores(C) {
  // --copying: each head's copying score
  const box = section("Copying scores", `For each head: the share of the prompt's positions whose own token is among the ${C.k} likeliest of what the head would write if it attended to that position alone (its values through c_proj, read by the unembedding). A dark cell is a head that copies what it attends to, as the IOI paper's name movers do.`);
  box.appendChild(legend("score: 0", "1"));
  box.appendChild(captioned(headTable("copying", (b, h) => {
    const {score} = C.scores[b * D.config.n_head + h];  // copying.CopyingRow
    return [score.toFixed(2), score, `copying ${score.toFixed(3)}`];
  }), "the copying score of each head, 0 to 1"));
}

function copyingMeasure(C) {
  return [["copying score", (b, h) => C.scores[b * D.config.n_head + h].score, (v) => v.toFixed(2)]];
}
