// ---- the page starts: the live page's form, keys and clicks, or the report's run as it is ----

if (LIVE) {
  drawForm(D.form);
  $("lens-section").addEventListener("toggle", lensWhenOpened);
  $("ask").hidden = false;
  $("ask").addEventListener("submit", (e) => { e.preventDefault(); clicked = null; run(); });
  $("stop").onclick = () => {
    stopAsked = true;
    if (running) fetch("/api/stop", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({run: running})});
    if (reading) reading.cancel();
  };
  $("clear").onclick = () => { ablated = []; clicked = null; showAblated(); run(); };
  document.addEventListener("keydown", (e) => {  // a head cell is a button: Enter or Space presses it
    if ((e.key === "Enter" || e.key === " ") && e.target.matches("[data-head]:not(button)")) { e.preventDefault(); e.target.click(); }
  });
  document.addEventListener("click", (e) => {
    const target = e.target.closest("[data-head]");
    if (!target) return;
    if ($("run").disabled) {  // said, not dropped
      $("status").textContent = "a run is under way: wait for its answer (or press Stop) before removing another head";
      return;
    }
    const h = target.getAttribute("data-head"), holder = target.closest("[id]");
    clicked = `${holder ? "#" + holder.id + " " : ""}[data-head="${h}"]`;
    timing = {click: performance.now()};  // when the click came, its answer was drawn, its page was drawn
    clicks.push(timing);
    target.classList.add("working");  // at once, where the click was
    target.setAttribute("aria-busy", "true");
    ablated = ablated.includes(h) ? ablated.filter((x) => x !== h) : [...ablated, h];
    showAblated();
    run();
  });
  const fromAddress = () => {
    const query = new URLSearchParams(location.search);
    fill(Object.fromEntries(query.entries()));
    const seen = seenPages.get(location.pathname + location.search);
    if (seen) {  // Back (or Forward) to a run of this page: shown again, not run again
      ({page: D, baseline} = seen);
      ablated = [...seen.ablated];
      showAblated();
      $("stream").textContent = D.json.text === undefined ? D.prompt : D.json.text;
      $("status").textContent = "done (shown again)";
      render();
      compare();
    } else if (query.has("prompt")) {  // a run in the address waits for the user: a page elsewhere may have opened it
      $("status").textContent = "this address holds a run: check it above, then press Run";
      $("run").focus();
    }
  };
  window.addEventListener("popstate", fromAddress);
  start();
  render();
  fromAddress();
} else {
  $("lens-section").open = true;  // --report: the lens is in the file
  $("offline-note").hidden = false;
  render();
}
let resizing = null;  // the drawing's layout follows its width: drawn again once a resize has settled
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => {
    if (D.json && Math.abs($("anatomy").clientWidth - Number($("anatomy").dataset.width)) > 20) redrawn(drawModel);
    scrollersFocusable();
  }, 150);
});
document.body.setAttribute("data-ready", "yes");

