"""--report FILE.html: the page holds the run's numbers, and a real browser shows them.

The browser tests drive headless Chromium from its command line (--dump-dom, --screenshot) on the
page loaded from disk. They skip, saying why, where no Chromium is installed; .ci/run installs it.
"""
import html.parser
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import ROOT, TINY, json_of, run_main, run_tiny
from instruments.logit_lens import lens_grid
from instruments.probe import probe
from instruments.page.data import rounded
from instruments.token_view import describe, token_text
from png import pixels

PROMPT = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"
CORRUPTED = "The animal is green. It's a cat. It's color is green. The color of the cat"
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
                None)
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium; "
                                                            ".ci/run installs it)")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """(path, the page's embedded data, the run's --json) of one run with every experiment."""
    path = tmp_path_factory.mktemp("report") / "cat.html"
    out = run_tiny(PROMPT, "-n", "3", "--report", str(path), "--json", "--heads", "--attribute", "--copying", "--patch", CORRUPTED,
              "--patch-at", "resid,heads,values", "--path", "logits")
    text = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
                      .group(1).replace("<\\/", "</"))
    return path, data, json_of(out)


def test_the_page_parses_and_asks_the_network_for_nothing(page):
    path, _, _ = page
    text = path.read_text(encoding="utf-8")
    html.parser.HTMLParser().feed(text)  # raises on nothing, but walks the whole file
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    names = text.replace('"http://www.w3.org/2000/svg"', "")  # SVG's namespace: a name, never fetched
    assert "http://" not in names and "https://" not in names
    assert text.count('<link rel="icon" href="data:,">') == 1, "an empty icon, so that the browser asks for none"
    text = text.replace('<link rel="icon" href="data:,">', "")
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", text), "no external resource of any kind"


def test_the_embedded_data_is_the_runs_json(page):
    _, data, report = page
    assert data["json"] == rounded(report)
    assert [t[0] for t in data["tokens"]] == report["prompt_ids"]
    assert [t[0] for t in data["generated"]] == report["generated_ids"]
    assert set(report) >= {"patch", "attribute", "heads", "show_top", "copying", "path"}


def test_the_lens_and_attention_data_are_the_probes(page, tiny, tok):
    _, data, report = page
    seen = probe(report["prompt_ids"], *tiny)
    ids, probs = lens_grid(seen, *tiny)
    assert data["lens"]["ids"] == ids.tolist()
    assert np.abs(np.array(data["lens"]["probs"]) / 1000 - probs).max() <= 0.0005 + 1e-6
    n = len(report["prompt_ids"])
    rows, cols = np.tril_indices(n)
    for n_block, weights in enumerate(seen.attention):
        assert np.abs(np.array(data["attention"]["maps"][n_block]) / 1000 - weights[:, rows, cols]).max() <= 0.0005 + 1e-6


def chromium(*args, url):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--user-data-dir=" + args[0]]
    result = subprocess.run([CHROMIUM, *flags, *args[1:], url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@needs_browser
def test_in_a_browser_a_chosen_heads_cell_shows_the_probes_weight(page, tiny, tok, tmp_path):
    path, _, report = page
    ids = report["prompt_ids"]
    weights = probe(ids, *tiny).attention
    for n_block, head, row, col in ((1, 2, 20, 3), (2, 0, 5, 5), (0, 3, 20, 0)):
        dom = chromium(str(tmp_path / f"profile{n_block}"), "--dump-dom",
                       url=f"{path.as_uri()}#block={n_block}&head={head}&cell={row},{col}")
        assert 'data-ready="yes"' in dom and '<div id="errors" role="alert"></div>' in dom, "the page ran without a JavaScript error"
        readout = re.search(r'<span id="readout">(.*?)</span>', dom).group(1)
        shown_value = float(readout.rsplit(": ", 1)[1])
        assert readout.startswith(f"block {n_block}, head {head}: row {row} ")
        assert abs(shown_value - weights[n_block][head, row, col]) <= 0.0005 + 1e-6, (readout, weights[n_block][head, row, col])


@needs_browser
def test_in_a_browser_every_token_and_every_lens_cell_is_shown(page, tiny, tok, tmp_path):
    path, _, report = page
    ids = report["prompt_ids"]
    dom = chromium(str(tmp_path / "profile"), "--dump-dom", url=f"{path.as_uri()}#block=0&head=avg")
    assert 'data-ready="yes"' in dom and '<div id="errors" role="alert"></div>' in dom
    unescape = html.unescape
    tokens = [unescape(t) for t in re.findall(r'<span class="tok[^"]*" data-i="\d+" title="[^"]*">(.*?)</span>', dom)]
    assert tokens == [row.text for row in describe(ids, tok) + describe(report["generated_ids"], tok)]
    top = lens_grid(probe(ids, *tiny), *tiny)[0][..., 0]  # [layer, position]: the top token
    cells = re.findall(r'<td data-layer="(\d+)" data-position="(\d+)" data-id="(\d+)" title="[^"]*" style="[^"]*">(.*?)</td>', dom)
    assert len(cells) == top.size
    for layer, t, token_id, text in cells:
        assert int(token_id) == top[int(layer), int(t)] and unescape(text) == token_text(tok, int(token_id))


@needs_browser
def test_in_a_browser_every_head_table_shows_the_runs_numbers_and_names_its_heads(page, tmp_path):
    path, data, _ = page
    dom = chromium(str(tmp_path / "profile"), "--dump-dom", url=path.as_uri())
    assert 'data-ready="yes"' in dom and '<div id="errors" role="alert"></div>' in dom
    J, n_head = data["json"], data["config"]["n_head"]
    signed = lambda v: f"{'+' if v >= 0 else ''}{v:.2f}"  # noqa: E731
    tables = {"heads-induction": [f"{s['induction']:.2f}" for s in J["heads"]["scores"]],
              "heads-duplicate-token": [f"{s['duplicate']:.2f}" for s in J["heads"]["scores"]],
              "copying": [f"{s['score']:.2f}" for s in J["copying"]["scores"]],
              "patch-heads": [f"{v:.3f}" for row in J["patch"]["heads"] for v in row],
              "patch-values": [f"{v:.3f}" for row in J["patch"]["values"] for v in row],
              "path": [f"{v:.3f}" for row in J["path"]["grid"] for v in row]}
    assert J["patch"]["metric"] == "probability" and signed(1.0) == "+1.00"
    for table, expected in tables.items():
        html_table = re.search(f'<table id="{table}".*?</table>', dom, re.S).group(0)
        cells = re.findall(r'<td title="head (\d+)\.(\d+)[^"]*" data-head="(\d+)\.(\d+)" style="[^"]*">(.*?)</td>', html_table)
        assert [f"{b}.{h}" for b, h, *_ in cells] == [f"{b}.{h}" for b in range(len(expected) // n_head) for h in range(n_head)]
        assert all((b, h) == (b2, h2) for b, h, b2, h2, _ in cells), "each cell's data-head is the head it shows"
        assert [text for *_, text in cells] == expected, table


def test_in_a_browser_the_attention_map_draws_the_probes_weights_where_a_link_points(page, tiny, browser):
    """The pixels of the canvas at a cell are the weight's shade, rgba(8, 48, 107, weight) on white, and the
    link's cell is the one the readout names."""
    path, _, report = page
    weights = probe(report["prompt_ids"], *tiny).attention
    browser.get(f"{path.as_uri()}#block=1&head=2&cell=20,3")
    canvas = browser.find_element("id", "map")
    browser.execute_script("arguments[0].scrollIntoView()", canvas)
    image = pixels(canvas.screenshot_as_png)
    n = len(report["prompt_ids"])
    cell, margin = max(2, min(22, 900 // n)), 120
    for row, col in ((20, 3), (7, 7), (15, 0)):
        w = round(float(weights[1][2, row, col]) * 1000) / 1000
        shown_colour = image[margin + row * cell + cell // 2][margin + col * cell + cell // 2]
        expected = tuple(round(255 + (c - 255) * w) for c in (8, 48, 107))
        assert max(abs(a - b) for a, b in zip(shown_colour, expected)) <= 3, (row, col, w, shown_colour)
    assert browser.find_element("id", "readout").text.startswith("block 1, head 2: row 20 ")


def test_from_file_the_model_is_drawn_and_its_stages_open(page, tiny, browser):
    """The --report page, opened from disk with no server: the residual stream drawn, and a stage's panel with this
    run's vector and its code, as on the live page."""
    path, data, report = page
    seen = probe(report["prompt_ids"], *tiny)
    browser.get(path.as_uri())
    assert len(browser.find_elements("css selector", "#anatomy svg .stream")) == 1
    assert len(browser.find_elements("css selector", "#anatomy svg circle.add")) == 2 * data["config"]["n_layer"]
    stage = browser.find_element("css selector", '#anatomy button[data-stage="mlp"][data-block="2"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", stage)
    stage.click()
    panel = browser.find_element("id", "stage-panel").text
    assert "MLP (block 2)" in panel and "all 16 numbers" in panel and "mlp.py, lines" in panel
    assert browser.execute_script("return D.anatomy.values.mlp[2].last") == pytest.approx(seen.mlp[2][-1].tolist(), abs=5e-4)
    assert browser.find_element("id", "errors").text == ""


def test_attentions_panel_shows_one_heads_arithmetic_from_the_probe(page, tiny, browser):
    """A block's attention panel: for the head chosen, q . k against every key at the last position, divided by
    sqrt(d_head), the mask (nothing is masked for the last position), the weights and the head's output, each step
    with its line of attention.py."""
    import math
    path, data, report = page
    seen = probe(report["prompt_ids"], *tiny)
    n_head = data["config"]["n_head"]
    d = data["config"]["n_embd"] // n_head
    browser.get(path.as_uri())
    browser.execute_script("document.querySelector('#anatomy [data-stage=\"attention\"][data-block=\"1\"]').click()")
    browser.execute_script(f"document.querySelectorAll('#stage-panel .head-pick button')[{n_head - 1}].click()")
    rows = browser.execute_script(f"return [...document.querySelectorAll('[data-arithmetic=\"1.{n_head - 1}\"] tr[data-key]')]"
                                  ".map((r) => [...r.children].slice(1).map((c) => Number(c.textContent)))")
    q, k, w = seen.q[1][n_head - 1, -1], seen.k[1][n_head - 1], seen.attention[1][n_head - 1, -1]
    assert len(rows) == len(report["prompt_ids"])
    for j, (qk, scaled, masked, weight) in enumerate(rows):
        assert qk == pytest.approx(float(q @ k[j]), abs=6e-4)  # shown to 3 decimals, from q . k to 3 decimals
        assert scaled == pytest.approx(float(q @ k[j]) / math.sqrt(d), abs=1e-3)
        assert masked == scaled and weight == pytest.approx(float(w[j]), abs=6e-5)
    text = browser.find_element("id", "arithmetic").text
    for statement in ("scores += mask", "return softmax(scores)", "weights @ v"):
        assert statement in text, text
    assert browser.execute_script(f"return D.anatomy.values.heads[1].out[{n_head - 1}]") == pytest.approx(
        seen.heads[1][n_head - 1, -1].tolist(), abs=5e-4)
    assert browser.find_element("id", "errors").text == ""


def test_the_drawing_reads_alone_a_key_for_its_shading_and_no_label_under_12px(page, browser):
    browser.get(page[0].as_uri())
    key = browser.execute_script("return document.querySelector('#anatomy .legend-row').textContent")
    assert key.startswith(browser.execute_script("return document.getElementById('measure').selectedOptions[0].textContent"))
    smallest = browser.execute_script("return Math.min(...[...document.querySelectorAll('#anatomy *, #experiments *')]"
                                      ".filter((e) => e.textContent.trim()).map((e) => parseFloat(getComputedStyle(e).fontSize)))")
    assert smallest >= 12, smallest


def test_a_long_prompt_keeps_block_averages_and_says_what_was_left_out(monkeypatch):
    import instruments.page.data as report
    rng = np.random.default_rng(0)
    attention = [rng.random((4, 30, 30)).astype(np.float32) for _ in range(3)]
    maps, note = report.attention_maps(attention, 4)
    assert maps["per_head"] and maps["first"] == 0 and note is None
    monkeypatch.setattr(report, "MAP_BUDGET", 3 * 30 * 31 // 2)  # room for one map per block
    maps, note = report.attention_maps(attention, 4)
    assert not maps["per_head"] and maps["first"] == 0 and "average over its 4 heads" in note
    assert np.abs(np.array(maps["maps"][1][0]) / 1000 - attention[1].mean(axis=0)[np.tril_indices(30)]).max() <= 0.0005
    monkeypatch.setattr(report, "MAP_BUDGET", 3 * 20 * 21 // 2)  # room for 20 positions per block
    maps, note = report.attention_maps(attention, 4)
    assert maps["first"] == 10 and len(maps["maps"][0][0]) == 20 * 21 // 2
    assert "for the last 20 positions" in note and "weights on the first 10 positions are left out" in note


@pytest.mark.parametrize("target", ["/dev/null", "folder", "missing/cat.html"])
def test_a_page_that_cannot_be_written_is_one_sentence_and_nothing_is_replaced(tmp_path, target):
    (tmp_path / "folder").mkdir()
    path = target if target.startswith("/") else str(tmp_path / target)
    result = run_main("hi", "-n", "1", "--model", TINY, "--report", path)
    assert result.returncode == 1 and result.stderr.startswith(f"error: cannot write {path}") and result.stdout == ""
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    assert sorted(os.listdir(tmp_path)) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_a_page_is_written_through_a_symlink_with_the_users_permissions(tmp_path):
    """A symlink to an earlier page is written through (a symlink to any other file is refused: test_hostile)."""
    from plumbing.files import WRITTEN_BY
    real = tmp_path / "real.html"
    real.write_text(f"<head>{WRITTEN_BY['--report']}</head> an earlier page")
    (tmp_path / "link.html").symlink_to(real)
    old_umask = os.umask(0o022)
    try:
        run_tiny("hi", "-n", "1", "--report", str(tmp_path / "link.html"))
    finally:
        os.umask(old_umask)
    assert (tmp_path / "link.html").is_symlink() and real.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert real.stat().st_mode & 0o777 == 0o644
    assert sorted(os.listdir(tmp_path)) == ["link.html", "real.html"]


@needs_browser
def test_in_a_browser_the_why_and_self_repair_sections_hold_the_runs_numbers(tmp_path):
    """--why-attends and --self-repair, each a view of js/views and an entry of SECTIONS: their rows are the JSON's."""
    model = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
    path = tmp_path / "why.html"
    out = json_of(run_main("<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "-n", "0", "--model", model, "--ablate", "1.0",
                           "--self-repair", "--why-attends", "1.0", "--report", str(path), "--json"))
    dom = chromium(str(tmp_path / "profile"), "--dump-dom", url=path.as_uri())
    assert 'data-ready="yes"' in dom and '<div id="errors" role="alert"></div>' in dom
    shown = dict(re.findall(r'<tr data-part="([^"|]+)" data-value="([^"]+)"', dom))
    parts = out["self_repair"]["parts"]
    assert shown and set(shown) == {name for name, v in parts.items() if abs(v) >= 5e-4}
    assert all(abs(float(v) - parts[name]) <= 1e-4 for name, v in shown.items())
    why = out["why_attends"]
    rows = re.findall(r'<tr data-part="([^"|]+)\|([^"]+)" data-value="([^"]+)"', dom)
    assert f'data-why="{why["head"]}"' in dom and len(rows) == 12
    cells = {(why["parts"][i], why["parts"][j]): v for i, row in enumerate(why["table"]) for j, v in enumerate(row)}
    assert all(abs(float(v) - cells[q, k]) <= 1e-4 for q, k, v in rows)
