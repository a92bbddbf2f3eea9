"use strict";
// The page of --report (its data embedded below the body) and of --serve (the same page, live: its data come
// from the server's /api/page). Every text from the prompt or the model reaches the page through textContent
// or setAttribute, never as markup.
window.onerror = function (message, source, line) {
  document.getElementById("errors").textContent += "JavaScript error: " + message + " (line " + line + ")\n";
};
const $ = (id) => document.getElementById(id);
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "style") e.style.cssText = v;  // through the CSSOM: the live page's policy refuses style attributes
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}
// the palette: light, or dark when the system asks for it (prefers-color-scheme), the canvas included. Effects that
// can go either way use blue for up and orange for down, which colour-blind eyes tell apart.
const DARK = matchMedia("(prefers-color-scheme: dark)").matches;
const BLUE = DARK ? "120,170,255" : "8,48,107", ORANGE = DARK ? "253,174,97" : "179,88,6";
const PALETTE = DARK ? {text: "#ddd", future: ["#333", "#3a3a3a"], up: "#6aa8ff", down: "#fdae61"}
                     : {text: "#222", future: ["#ddd", "#e9e9e9"], up: "#1f5fa8", down: "#c8610a"};
const shade = (p, rgb) => `rgba(${rgb || BLUE},${Math.max(0, Math.min(1, p)).toFixed(3)})`;
function paint(x, rgb) {
  // a cell's style for x from -1 (orange) through 0 (the page) to 1 (blue), or on rgb: the colour mixed with the
  // page's background, and the text colour that reads best on it (by the mix's luminance, as WCAG measures it)
  const colour = (rgb || (x >= 0 ? BLUE : ORANGE)).split(",").map(Number), a = Math.max(0, Math.min(1, Math.abs(x)));
  const page = DARK ? [18, 18, 18] : [255, 255, 255];
  const mixed = colour.map((v, i) => page[i] * (1 - a) + v * a);
  const linear = mixed.map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
  const luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
  const black = (luminance + 0.05) / 0.05, white = 1.05 / (luminance + 0.05);  // contrast ratios: at least 4.58
  return `background:rgb(${mixed.map(Math.round).join(",")});color:${black > white ? "#000" : "#fff"}`;
}
const label = (t) => t[2];
const whole = (text, low, high, otherwise) => {  // a whole number from a link, or otherwise
  const n = /^-?\d+$/.test(text || "") ? Number(text) : NaN;
  return Number.isInteger(n) && n >= low && n <= high ? n : otherwise;
};

let D = JSON.parse($("data").textContent);
const LIVE = D.live;

// ---- what one run shows ----

function meta() {
  const m = $("meta");
  m.textContent = "";
  if (!D.json) return;
  m.appendChild(el("p", {}, `Checkpoint: ${D.model} (n_layer ${D.config.n_layer}, n_head ${D.config.n_head}, n_embd ${D.config.n_embd}, n_ctx ${D.config.n_ctx}, vocab_size ${D.config.vocab_size})`));
  m.appendChild(el("p", {}, LIVE ? "The same run in a terminal: " : "Made by: ")).appendChild(el("code", {class: "long", id: "command"}, D.command));
  m.appendChild(el("p", {}, "Prompt: ")).appendChild(el("code", {class: "long"}, JSON.stringify(D.prompt)));
  for (const note of D.left_out) m.appendChild(el("p", {class: "note"}, "Left out: " + note));
}

// ---- what the sections are made of: a title and how to read it, a scale's key, tables of heads and of positions ----

function section(title, how) {
  const box = $("experiments");
  box.appendChild(el("h2", {}, title));
  box.appendChild(el("p", {class: "how"}, how));
  return box;
}

function legend(low, high, signed) {
  // the scale's key: a strip from its low end to its high end (signed: orange, the page's colour, blue)
  const row = el("div", {class: "legend-row"}, low + " ");
  const strip = signed ? `rgb(${ORANGE}), transparent, rgb(${BLUE})` : `${shade(0)}, ${shade(1)}`;
  row.appendChild(el("span", {class: "legend", style: `background:linear-gradient(to right, ${strip})`, "aria-hidden": "true"}));
  row.append(" " + high);
  return row;
}

function captioned(table, text) {
  // a table's caption: what its cells are, for a screen reader and for the eye
  table.prepend(el("caption", {}, text));
  return table;
}

function headTable(id, cell) {
  // n_layer rows of n_head cells; cell(block, head) -> [text, shade 0..1, title]
  const table = el("table", {id: id, class: "heads"});
  const top = table.appendChild(el("tr"));
  top.appendChild(el("th", {class: "row"}, "block \\ head"));
  for (let h = 0; h < D.config.n_head; h++) top.appendChild(el("th", {}, String(h)));
  for (let b = 0; b < D.config.n_layer; b++) {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, String(b)));
    for (let h = 0; h < D.config.n_head; h++) {
      const [text, s, title] = cell(b, h);
      const attrs = {title: `head ${b}.${h}` + (title ? ": " + title : ""), style: paint(s)};
      if (text !== "") attrs["data-head"] = `${b}.${h}`;
      tr.appendChild(el("td", attrs, text));
    }
  }
  return table;
}

function positionTable(id, cells, rowName, share, format) {
  const table = el("table", {id: id});
  const top = table.appendChild(el("tr"));
  top.appendChild(el("th", {class: "row"}, rowName(-1)));
  D.tokens.forEach((t) => top.appendChild(el("th", {}, label(t))));
  cells.forEach((row, r) => {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("th", {class: "row"}, rowName(r)));
    row.forEach((cell, t) => {
      const v = cell !== null && typeof cell === "object" ? cell.v : cell;  // a number, or {v, title}
      const x = v === null ? 0 : share(v);
      const title = v === null ? "not patched" : cell.title || format(v);
      tr.appendChild(el("td", {title: title, style: paint(x)}, v === null ? "" : format(v)));
    });
  });
  return table;
}

function scrollersFocusable() {
  // a region that scrolls (a wide table on a phone, a long command line, the answer's bar) is reachable by the
  // keyboard, which can then scroll it: tabindex where it scrolls now, and only there
  for (const e of document.querySelectorAll("table, code.long, #compare, .scroll")) {
    const scrolls = e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1;
    if (scrolls && !e.hasAttribute("tabindex")) {
      e.setAttribute("tabindex", "0");
      e.dataset.scrolls = "yes";
    } else if (!scrolls && e.dataset.scrolls) {
      e.removeAttribute("tabindex");
      delete e.dataset.scrolls;
    }
  }
}
