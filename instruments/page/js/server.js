// ---- talking to the server: a run, its stream of events, Stop, the parts asked for when shown ----

let reading = null;  // the response being read, so that Stop can cancel it
let stopAsked = false;  // the user pressed Stop during this run
let running = null;  // the Run-Id of the run on the server: a Stop names it, and stops that run and no other

function runId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let timing = {}, clicks = [];  // each click's times (performance.now()): the benchmark reads them
let clicked = null;  // where the last click on a head was (a selector): the answer's bar must not hide it

function clearOfBar() {
  // the clicked head, if the answer's bar now covers it, scrolled just above the bar (html's scroll-padding-bottom)
  const e = clicked && document.querySelector(clicked), bar = $("compare");
  if (e && bar.childElementCount && e.getBoundingClientRect().bottom > bar.getBoundingClientRect().top) e.scrollIntoView({block: "nearest"});
}
const seenPages = new Map();  // address -> the run's page, its baseline and its heads removed: Back shows it again

async function run(inView) {
  // inView: the form's end, and the run's text below it, brought into view (an example, pressed above the form)
  const o = options();
  const query = new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)]));
  const address = "/?" + query.toString();
  if (address !== location.pathname + location.search) history.pushState(null, "", address + location.hash);  // Back: the run before
  $("problem").textContent = "";
  $("run").disabled = true;
  $("stop").disabled = false;
  try {
    if (ablated.length) {  // the comparison starts from the same run with every head: asked for first if not here
      const plain = {...o};
      delete plain.ablate;
      delete plain.ablate_with;
      if (!baseline || JSON.stringify(baseline.options) !== JSON.stringify(plain)) {
        const page = await ask(plain, []);
        if (!page) return;
        baseline = {page: page, options: plain};
      }
    }
    const follow = ablated.length ? followed(baseline.page) : null;
    if (ablated.length && !o.score) o.self_repair = true;  // beside the answer: who made up for the heads removed (--score reads past one window)
    const following = FOLLOWING.some((key) => o[key] !== undefined && o[key] !== false);  // an experiment follows a token
    if (follow !== null && following && o.target === undefined && o.target_id === undefined) {
      o.target_id = follow;  // removing heads must not change the question: the run with every head's token
    }
    const E = baseline && experiment(baseline.page.json);
    const versus = E ? E.versus : null;
    const watch = follow === null ? [] : [follow, ...(versus === null || versus === undefined ? [] : [versus])];
    if (follow !== null) {  // a click: its answer first, drawn at once; the tables in the full run after it
      const quick = await ask(o, watch, true);
      if (!quick) return;
      compare(quick);
      clearOfBar();
      timing.answer = performance.now();
    }
    if (o.attribution_patching && !o.estimate_only && follow === null) {
      // the estimates first (three forward passes), drawn while the exact grids are run; Stop keeps them
      const estimated = await ask({...o, estimate_only: true}, watch);
      if (!estimated) return;
      D = estimated;
      D.options = o;
      render();
      $("status").textContent = "the estimates are in; the exact grids follow...";
    }
    const page = await ask(o, watch);
    if (!page) {
      if (D.json && D.json.attribution_patching) $("status").textContent = "stopped: the estimates are shown, the exact grids were not finished";
      return;
    }
    D = page;
    D.options = o;  // what ran: the lens, asked for later, is that run's
    if (!ablated.length) baseline = {page: page, options: o};
    seenPages.set(address, {page: page, baseline: baseline, ablated: [...ablated]});
    render();
    if (inView) $("run").scrollIntoView({block: "start"});
    compare();
    clearOfBar();
    timing.page = performance.now();
  } catch (e) {
    $("problem").textContent = e.message;
    $("status").textContent = "";
  } finally {
    reading = running = null;
    $("run").disabled = false;
    $("stop").disabled = true;
    $("progress").hidden = true;
  }
}

async function ask(o, watch, answerOnly) {
  // one run on the server: its events as they come, then its page's data, or with answerOnly the answer a click
  // needs first (null if it was stopped)
  $("stream").textContent = "";
  $("status").textContent = answerOnly ? "computing the answer..." : "running...";
  running = runId();
  stopAsked = false;
  const response = await fetch("/api/page", {method: "POST", headers: {"Content-Type": "application/json", "Run-Id": running},
                                              body: JSON.stringify({options: o, watch: watch, answer_only: Boolean(answerOnly),
                                                                    lens: $("lens-section").open})});
  if (!response.ok) {
    const answer = await response.json().catch(() => ({error: `the server answered ${response.status}`}));
    throw new Error(answer.error);
  }
  reading = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", page = null, stopped = false, notes = 0;
  $("notes").textContent = "";
  for (;;) {
    let value, done;
    try {
      ({value, done} = await reading.read());
    } catch (e) {
      if (stopAsked) break;
      throw new Error("the connection to the server broke during the run: the server may have stopped; see its console");
    }
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (!line) continue;  // the server's check that the page is still there
      const e = JSON.parse(line);
      if (e.token) $("stream").textContent += e.text;
      if (e.note) $("notes").textContent += (notes++ ? " " : "") + "Note: " + e.note;
      if (e.progress) {
        const bar = $("progress");
        bar.hidden = false;
        bar.max = e.progress.total;
        bar.value = e.progress.done;
        $("status").textContent = `${e.progress.what}: ${e.progress.done} of ${e.progress.total}`;
      }
      if (e.page) { page = e.page; $("status").textContent = "done"; }
      if (e.answer) { page = e.answer; $("status").textContent = "the answer is in; the tables follow..."; }
      if (e.error) throw new Error(e.error);  // a failure after the stream began: its sentence
      if (e.stopped) stopped = true;
    }
  }
  if (!page && !stopped && !stopAsked) throw new Error("the server ended the run before its end without saying why: it may have stopped; see its console");
  if (!page) $("status").textContent = "stopped";
  return page;
}

async function lensWhenOpened() {
  // the logit lens of the run shown, asked of the server when its section is opened
  if (!$("lens-section").open || !D.json || D.lens || !D.options || $("run").disabled) return;
  lens();
  const answer = await fromServer("/api/lens", {});
  if (!answer) return;
  D.lens = answer.lens;
  Object.assign(D.texts, answer.texts);
  lens();
  scrollersFocusable();
}

async function fromServer(path, asked) {
  // a part of the run shown that the live server computes only when it is shown: asked with the run's options;
  // the answer, or null once its mistake is said
  const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify({options: D.options, ...asked})});
  const answer = await response.json().catch(() => ({error: `the server answered ${response.status}`}));
  if (response.ok && !answer.error) return answer;
  $("problem").textContent = answer.error;
  return null;
}

async function whyHere(block, head, query, key) {
  // why head block.head looks from query to key in the run shown: the server splits its score (--why-attends)
  const box = $("why-here");
  box.textContent = `asking why head ${block}.${head} looks from ${query} to ${key}...`;
  const answer = await fromServer("/api/why", {block: block, head: head, query: query, key: key});
  box.textContent = "";
  if (!answer) return;
  box.appendChild(el("h3", {}, `Why head ${answer.head} looks here`));
  box.appendChild(el("p", {class: "how"}, whySentence(answer)));
  whyTable(box, answer, "why-here-table");
  arithmetic(box, block, D.anatomy.stages.find((s) => s.key === "attention").code, {heads: answer.arithmetic, head: head, id: "why-arithmetic"});
  scrollersFocusable();
}
