"""--report FILE.html: one page to explore a run in a browser, offline.

This module only assembles: data.py computes the numbers (the probe's attention, the logit lens at
every layer and position, the experiments) and hands them over as one dict, which is embedded in the
page as JSON. The page is page.html, page.css and the scripts of js/ beside this file, put together into one file;
it draws the data with plain JavaScript and makes no network request of any kind, so it works from
file:// and can be mailed around. The live page of --serve is the same page, its data asked of the server.

A URL fragment selects what is shown, so a link (or a test) can point at one cell:
    cat.html#block=2&head=5&cell=20,3    block 2, head 5 ("head=avg" for the average), row 20, column 3
"""
import json
import os
import re

from plumbing.files import WRITTEN_BY, write_text

PAGE = os.path.dirname(os.path.abspath(__file__))  # page.html, page.css and js/, beside this file
# The page's scripts, in js/, in the order they are joined: plain scripts, one after the other in one <script>
# element, since Chromium runs no module from file://. "views" stands for every file of js/views/ (sections.js's
# SECTIONS names what each draws); live.js, last, starts the page.
SCRIPTS = ("base", "tokens", "maps", "sections", "views", "drawing", "panel", "form", "server", "live")


def script():
    """The page's JavaScript: js/'s files joined in SCRIPTS' order."""
    views = os.path.join(PAGE, "js", "views")
    names = [os.path.join("views", f) for f in sorted(os.listdir(views)) if f.endswith(".js")]
    paths = [os.path.join(PAGE, "js", name) for part in SCRIPTS for name in (names if part == "views" else [f"{part}.js"])]
    return "\n".join(open(path, encoding="utf-8").read() for path in paths)


def script_json(data):
    """data as JSON that can stand inside a <script> element, whatever its texts hold: with no "<" at all, no
    text can end the element ("</script") or switch the parser into its escaped state ("<!--", "<script")."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def page(data):
    """The whole HTML file, one file with its style, script and data inside. data: see explain.page_data."""
    parts = {name: open(os.path.join(PAGE, f"page.{name.lower()}"), encoding="utf-8").read() for name in ("HTML", "CSS")}
    parts["JS"] = script()
    assert "</script" not in parts["JS"] and "<!--" not in parts["JS"], "the script must not end its own element"
    inside = {"STYLE": parts["CSS"], "SCRIPT": parts["JS"], "DATA": script_json(data)}
    return re.sub(r"/\*(STYLE|SCRIPT|DATA)\*/", lambda m: inside[m[1]], parts["HTML"])  # one pass: nothing inserted is read again


def write_report(path, data):
    marked = page(data).replace("<head>", "<head>" + WRITTEN_BY["--report"], 1)  # a later --report may replace it
    write_text(path, marked, "--report")  # whole or not at all
