function ablation(heads, J) {
  // --ablate: which heads this run removed, and how
  section("Ablation", `Every number on this page was computed with these heads removed (their output set to ${J.ablate_with === "mean" ? "its mean over the prompt's positions" : "zero"}): ` +
      heads.map(([b, h]) => `${b}.${h}`).join(", ") + ". Compare with a run without them.");
}
