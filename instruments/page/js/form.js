// ---- the live page: the form is the run, the address bar holds it, a click on a head removes it ----

// the form's fields are the API's options, drawn from the parser's own list (D.form): an input with id "o-NAME" is
// the option NAME. The heads removed (--ablate) are the ones clicked away, not a field.
let FIELDS = [];
const FOLLOWING = [];  // the options of the experiments that follow a token (arguments.follows, from the parser)
const DEFAULTS = {};  // as the command line's: a value left at its default is left out of the options
const STARTING = {max_new_tokens: "8", kv_cache: true};  // what the page starts with, where it differs from the command line
let ablated = [];  // "L.H" strings
let baseline = null;  // {page, options}: the run without removed heads that the comparison starts from

function drawForm(groups) {
  // the first group (the prompt) always shown; the others each under a summary that opens it, open from the start
  // on a wide screen, closed on a phone (where the form would push the run out of view) unless a value is set in it
  const box = $("fields");
  groups.forEach(([title, fields], i) => {
    const holder = i === 0 ? box : box.appendChild(el("details", {class: "group"}));
    if (i > 0) {
      holder.appendChild(el("summary", {}, title));
      holder.open = innerWidth >= 700;
    }
    const set = holder.appendChild(el("fieldset"));
    set.appendChild(el("legend", i > 0 ? {class: "by-summary"} : {}, title));
    for (const f of fields.filter((f) => f.key !== "ablate")) {
      const id = "o-" + f.key, name = f.key === "prompt" ? "prompt" : "--" + f.key.replace(/_/g, "-");
      let input;
      if (f.key === "prompt") input = el("textarea", {id: id, rows: "3", class: "wide"});
      else if (f.choices) {
        input = el("select", {id: id});
        input.appendChild(el("option", {value: ""}, "(default)"));
        for (const c of f.choices) input.appendChild(el("option", {value: c}, c));
      } else if (f.kind === "flag") input = el("input", {type: "checkbox", id: id});
      else input = el("input", {type: f.kind === "number" ? "number" : "text", id: id, step: "any", placeholder: f.metavar || ""});
      if (f.default !== null && f.default !== false) DEFAULTS[f.key] = f.default;
      const label = set.appendChild(el("label", {title: f.help || ""}));
      if (f.kind === "flag") label.append(input, " " + name);
      else label.append(name + " ", input);
      if (f.key === "prompt") set.appendChild(el("br"));
      if (STARTING[f.key] === true) input.checked = true;
      else if (STARTING[f.key] !== undefined) input.value = STARTING[f.key];
      FIELDS.push(f.key);
      if (f.follows) FOLLOWING.push(f.key);
    }
  });
}

function openSet() {
  // a group holding a value other than the page's starting one is opened: nothing set is hidden
  const starting = (name, input) => (input.type === "checkbox" ? input.checked === (STARTING[name] === true)
                                                               : input.value === String(STARTING[name] === undefined ? "" : STARTING[name]));
  for (const group of document.querySelectorAll("#fields details")) {
    if (FIELDS.some((name) => group.contains($("o-" + name)) && !starting(name, $("o-" + name)))) group.open = true;
  }
}

function isDefault(name, input) {
  if (DEFAULTS[name] === undefined) return false;
  return input.type === "number" ? Number(input.value) === DEFAULTS[name] : input.value === String(DEFAULTS[name]);
}

function fill(options) {
  // the form from options (an address's, an example's); given none at all, the page's starting values
  const starting = Object.keys(options).length === 0;
  for (const name of FIELDS) {
    const input = $("o-" + name), value = starting ? STARTING[name] : options[name];
    if (input.type === "checkbox") input.checked = value === true || value === "true";
    else input.value = value === undefined || value === null ? "" : value;  // left out: the command line's default
  }
  ablated = options.ablate ? String(options.ablate).split(",").filter((h) => h) : [];
  showAblated();
  openSet();
}

function options() {
  // the API's keys, as the command line takes them; what is left at its default is left out
  const o = {};
  for (const name of FIELDS) {
    const input = $("o-" + name);
    if (input.type === "checkbox") { if (input.checked) o[name] = true; }
    else if (input.value !== "" && !isDefault(name, input) && !(name === "ablate_with" && !ablated.length)) {
      o[name] = input.type === "number" ? Number(input.value) : input.value;
    }
  }
  if (!("prompt" in o)) o.prompt = "";
  if (ablated.length) o.ablate = ablated.join(",");
  if (o.score) delete o.max_new_tokens;  // the page's own 8 new tokens: --score generates nothing
  if (o.score || o.max_new_tokens === 0) delete o.kv_cache;  // the page's KV cache is for generating
  return o;
}

function showAblated() {
  const box = $("ablated-set");
  box.textContent = ablated.length ? "" : "none: click a head anywhere on the page to remove it";
  for (const h of ablated) box.appendChild(el("span", {class: "chip"}, h));
  markAblated();
}

function markAblated() {
  // on the live page every head is a control: reachable by Tab, pressed (removed) or not
  for (const e of document.querySelectorAll("[data-head]")) {
    const removed = ablated.includes(e.getAttribute("data-head"));
    e.classList.toggle("ablated", removed);
    if (!LIVE) continue;
    if (e.tagName !== "BUTTON") { e.setAttribute("tabindex", "0"); e.setAttribute("role", "button"); }
    e.setAttribute("aria-pressed", String(removed));
    if (e.tagName !== "BUTTON") e.setAttribute("aria-label", `${e.textContent} (head ${e.getAttribute("data-head")}, ${removed ? "removed: press to restore it" : "press to remove it"})`);
  }
}

function compare(current) {
  // the answer with and without the heads removed (the new tokens and the metric), in a bar that stays in view at the
  // bottom of the window;
  // current: the run with them removed (D, or a click's first answer before its page arrives)
  const now = current || D;
  const box = $("compare"), madeUp = $("made-up");
  box.textContent = madeUp.textContent = "";
  madeUp.hidden = true;
  document.body.classList.toggle("comparing", Boolean(ablated.length && baseline && now.json));
  if (!ablated.length || !baseline || !now.json) return;
  const id = followed(baseline.page), E = experiment(baseline.page.json);
  const versus = E ? E.versus : null;  // the grids' metric too
  const name = (i) => baseline.page.texts[i] || now.texts[i];
  const metric = (page) => {  // the grids' metric of a run: [its value, how it is written]
    if (versus === null || versus === undefined) {
      const p = page.watched[id];
      return [p, `P(${name(id)}) after the prompt: ${p === undefined ? "?" : p.toFixed(4)}`];
    }
    const [a, b] = [page.watched_logits[id], page.watched_logits[versus]];
    const v = a === undefined || b === undefined ? undefined : a - b;
    return [v, `logit(${name(id)}) - logit(${name(versus)}) after the prompt: ${v === undefined ? "?" : (v >= 0 ? "+" : "") + v.toFixed(3)}`];
  };
  const values = [metric(baseline.page)[0], metric(now)[0]].filter((v) => v !== undefined);
  const scale = Math.max(...values.map(Math.abs), versus === null || versus === undefined ? 1 : 1e-9);
  const side = (title, page, cls) => {
    const d = box.appendChild(el("div", {class: cls}));
    d.appendChild(el("b", {}, title));
    const continuation = page.json.text === undefined ? "" : page.json.text.slice(page.prompt.length);  // never the prompt again
    d.appendChild(el("div", {class: "answer", title: page.json.text || page.prompt}, continuation || "(no new tokens)"));
    const chips = d.appendChild(el("div", {class: "new-tokens", "aria-label": "the new tokens; a marked one differs from the other run's"}));
    const other = page === now ? baseline.page : now;
    page.generated.forEach((t, i) => chips.appendChild(el("span", {class: "tok new" + (other.generated[i] && other.generated[i][0] === t[0] ? "" : " differs")}, label(t))));
    const [v, written] = metric(page);
    d.appendChild(el("div", {class: "probability"}, written));
    const bar = d.appendChild(el("div", {class: "metric-bar"})).appendChild(el("span", {class: "bar"}));
    bar.style.width = `${v === undefined ? 0 : Math.round(Math.abs(v) / scale * 200)}px`;
    bar.style.background = v !== undefined && v < 0 ? PALETTE.down : PALETTE.up;
  };
  side("with every head", baseline.page, "without-ablation");
  side(`without ${ablated.join(", ")} (${$("o-ablate_with").value === "mean" ? "mean" : "zero"})`, now, "with-ablation");
  const R = now.json.self_repair;
  if (R) {  // who made up for it, in one line under the run's answer (the bar holds the answer only); every part in
    // "Who made up for it", with its bar
    const parts = Object.entries(R.parts).filter(([, v]) => Math.abs(v) >= 5e-4).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 4);
    madeUp.append(`Who made up for it: the change, ${R.change >= 0 ? "+" : ""}${R.change.toFixed(3)}, splits exactly into `);
    parts.forEach(([name, v], i) => madeUp.appendChild(el("span", {"data-part": name, "data-value": v}, `${i ? ", " : ""}${name}${ablated.includes(name) ? " (removed)" : ""} ${v >= 0 ? "+" : ""}${v.toFixed(3)}`)));
    madeUp.append(", ... (");
    madeUp.appendChild(el("a", {href: "#self-repair"}, "every part"));
    madeUp.append(")");
    madeUp.hidden = false;
  }
  scrollersFocusable();
}

function start() {
  // the first minute: what is loaded, what to do, and examples chosen for it that fill the form and run
  const box = $("start"), C = D.config, bytes = C.vocab_size <= 257;
  box.hidden = false;
  box.appendChild(el("p", {}, `Loaded: ${D.model} (n_layer ${C.n_layer}, n_head ${C.n_head}, n_embd ${C.n_embd}, n_ctx ${C.n_ctx}, vocab_size ${C.vocab_size}). Type a prompt and press Run; then click any head in the tables to remove it and see the answer without it. Or try:`));
  const founding = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat";
  const examples = bytes
    ? [["the induction head at work", {prompt: "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", max_new_tokens: 8, heads: true}],
       ["which head carries the copied byte", {prompt: "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", max_new_tokens: 0, patch: "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk", versus: "t", patch_at: "heads,values", attribution_patching: true}]]
    : [["the founding prompt, with head roles", {prompt: founding, max_new_tokens: 8, heads: true, attribute: true}],
       ["where the colour travels", {prompt: founding + " is", max_new_tokens: 0, patch: (founding + " is").replace(/yellow/g, "green"), target: " yellow", versus: " green", patch_at: "resid,heads", attribution_patching: true}]];
  for (const [name, o] of examples) {
    const b = box.appendChild(el("button", {type: "button", class: "example"}, name));
    b.onclick = () => { fill({kv_cache: true, ...o}); run(true); };
  }
}
