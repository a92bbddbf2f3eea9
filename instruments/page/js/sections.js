// ---- the experiments: every head that appears is a cell with data-head="L.H" (on the live page, a click removes it) ----

// The sections, in the page's order, keyed by the --json key each shows: a new instrument's view is a file in
// views/ and one entry here. draw(value, J, text) adds the section; measure(value, J), where given, is the list of
// [name, (block, head) -> -1..1 or null, format] the drawing can shade its heads by. follows: the section measures
// the token the experiments follow, which "What the experiments follow" names just above the first of them.
const SECTIONS = [
  {key: "ablate", draw: ablation},
  {key: "steer", draw: steering},
  {key: "heads", draw: headRoles, measure: roleMeasures},
  {key: "copying", draw: copyingScores, measure: copyingMeasure},
  {key: "attribute", draw: attribution, measure: attributionMeasure, follows: true},
  {key: "patch", draw: patching, measure: patchingMeasures, follows: true},
  {key: "path", draw: pathPatching, follows: true},
  {key: "edges", draw: edgeGraph, follows: true},
  {key: "self_repair", draw: selfRepair, follows: true},
  {key: "why_attends", draw: whyAttends},
];

function experiments() {
  const box = $("experiments");
  box.textContent = "";
  const J = D.json, text = (id) => D.texts[id];
  if (!J) return;
  let named = false;
  for (const {key, draw, follows} of SECTIONS) {
    if (J[key] === undefined || J[key] === null || J[key] === false) continue;
    if (follows && !named) followedSection(J, text);
    named = named || Boolean(follows);
    draw(J[key], J, text);
  }
  if (!named && experiment(J)) followedSection(J, text);  // saliency alone: its tokens are shaded above
}

function headMeasures() {
  // [name, (block, head) -> a number from -1 to 1 or null, its text] for every measure this run has
  const J = D.json;
  return SECTIONS.filter((s) => s.measure && J[s.key]).flatMap((s) => s.measure(J[s.key], J));
}

function experiment(J) {
  // an experiment's object of a run's JSON: each that follows a token names it (target, versus), the same for all
  return Object.values(J).find((v) => v !== null && typeof v === "object" && !Array.isArray(v) && "target" in v) || null;
}

function followed(page) {
  // the token the comparison follows: the experiments' target, else the model's next token after the prompt
  const E = experiment(page.json);
  return E ? E.target : page.next_id;
}

function followedSection(J, text) {
  const id = experiment(J).target, how = $("o-target_id") && ablated.length && !$("o-target").value && !$("o-target_id").value
    ? "the token the run with every head predicts next, so that removing heads does not change the question"
    : id === D.next_id ? "the model's own next token"
    : J.self_repair ? "the next token of the model with every head (or the target typed): self-repair asks what became of it"
    : "the token typed as the target";
  section("What the experiments follow", `The experiments below follow ${text(id)} (id ${id}): ${how}.`).lastChild.id = "followed";
}
