"""The live page reached as everyone reaches it: by keyboard alone, on a phone, in dark mode, through Back, from its
first minute; and judged by axe-core's accessibility rules (tests/vendor/axe-core, the npm package's axe.min.js).
Chromium driven by Selenium, against main.py --serve on the induction model; they skip where no browser is.
"""
import json
import os

import pytest

from conftest import NO_BROWSER, ROOT, chrome
from test_live_page import done, no_javascript_errors, open_run, press, wait_until

pytestmark = pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")
AXE = os.path.join(ROOT, "tests", "vendor", "axe-core", "axe.min.js")
PROMPT = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk"


def ready(driver):
    wait_until(driver, lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "yes")


def axe_violations(driver):
    """axe-core's critical and serious violations of the page as it is now: [(rule, impact, how many nodes)]."""
    driver.execute_script(open(AXE, encoding="utf-8").read())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then((r) => done(JSON.stringify(r.violations)));")
    return [(v["id"], v["impact"], len(v["nodes"]), [n["target"] for n in v["nodes"]][:3]) for v in json.loads(result)
            if v["impact"] in ("critical", "serious")]


def test_axe_finds_nothing_critical_or_serious_before_and_after_runs(induction_server, browser):
    browser.get(f"http://127.0.0.1:{induction_server.port}/")
    ready(browser)
    assert axe_violations(browser) == [], "the first minute"
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=4&heads=true"
                      f"&attribute=true&copying=true&lens=true&patch=<|endoftext|>qwzjxvktmyfpgdhqwzjxvk&versus=t"
                      f"&patch_at=resid,heads&attribution_patching=true&saliency=true&path=logits")
    assert done(browser) == "done"
    assert axe_violations(browser) == [], "every section drawn"
    assert browser.execute_script("return [...document.querySelectorAll('table')].every((t) => t.caption && t.caption.textContent)")
    press(browser, '#heads-induction td[data-head="1.0"]')
    assert done(browser) == "done"
    assert axe_violations(browser) == [], "the comparison after a click"
    for stage in ('[data-stage="attention"][data-block="1"]', '[data-stage="layer_norm"][data-part="ln_2"]', '[data-stage="softmax"]'):
        press(browser, f"#anatomy button{stage}")
        assert axe_violations(browser) == [], f"a stage's panel open: {stage}"
    no_javascript_errors(browser)


def test_from_the_prompt_to_a_removed_head_by_keyboard_alone(induction_server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    browser.get(f"http://127.0.0.1:{induction_server.port}/")
    ready(browser)
    browser.find_element("id", "o-prompt").click()
    ActionChains(browser).send_keys(PROMPT).perform()
    heads = browser.find_element("id", "o-heads")
    for _ in range(40):  # Tab until the head-roles box has the focus, then Space ticks it
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element == heads:
            break
    ActionChains(browser).send_keys(Keys.SPACE).perform()
    assert heads.is_selected()
    for _ in range(40):  # on to the Run button, and Enter
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element.get_attribute("id") == "run":
            break
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert done(browser) == "done", browser.find_element("id", "problem").text
    cell = browser.find_element("css selector", '#heads-induction td[data-head="1.0"]')
    assert cell.get_attribute("tabindex") == "0" and cell.get_attribute("role") == "button"
    assert cell.get_attribute("aria-pressed") == "false"
    for _ in range(400):  # Tab through the page to the cell of head 1.0
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element.get_attribute("data-head") == "1.0":
            break
    assert browser.switch_to.active_element.get_attribute("data-head") == "1.0"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert done(browser) == "done"
    assert browser.find_element("css selector", '#heads-induction td[data-head="1.0"]').get_attribute("aria-pressed") == "true"
    focused = browser.switch_to.active_element  # the first head 1.0 on the way is the drawing's, "The model"
    assert (focused.get_attribute("data-head"), focused.get_attribute("aria-pressed")) == ("1.0", "true"), \
        "the focus stays where it was, on the new drawing's same head"
    assert browser.find_element("css selector", "#compare .with-ablation .answer").text != "bmyfpgdh"


def test_the_arrow_keys_move_the_map_only_when_it_has_the_focus(induction_server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=0#block=0&head=1")
    assert done(browser) == "done"
    shown = lambda: (browser.find_element("id", "block").get_attribute("value"),  # noqa: E731
                     browser.find_element("id", "head").get_attribute("value"))
    browser.find_element("tag name", "h1").click()
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
    assert shown() == ("0", "1"), "the page scrolls; the map stays"
    browser.find_element("id", "map").click()
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).send_keys(Keys.ARROW_DOWN).perform()
    assert shown() == ("1", "2")


def test_back_returns_to_the_previous_experiment(induction_server, browser):
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=4&heads=true")
    assert done(browser) == "done"
    first = browser.find_element("id", "stream").text
    press(browser, '#heads-induction td[data-head="1.0"]')
    assert done(browser) == "done" and "ablate=1.0" in browser.current_url
    browser.back()
    wait_until(browser, lambda d: "ablate" not in d.current_url and d.find_element("id", "status").text == "done (shown again)")
    assert browser.find_element("id", "stream").text == first and not browser.find_elements("css selector", ".ablated")
    assert browser.find_element("id", "ablated-set").text.startswith("none")
    browser.forward()
    wait_until(browser, lambda d: "ablate=1.0" in d.current_url and d.find_elements("css selector", ".ablated"))


def test_the_first_minute_says_what_is_loaded_and_its_examples_run(induction_server, browser):
    browser.get(f"http://127.0.0.1:{induction_server.port}/")
    ready(browser)
    start = browser.find_element("id", "start").text
    assert "n_layer 2, n_head 4" in start and "Type a prompt and press Run" in start
    assert not browser.find_element("id", "sections").is_displayed(), "no empty sections before a run"
    examples = browser.find_elements("css selector", "#start button.example")
    assert [e.text for e in examples] == ["the induction head at work", "which head carries the copied byte"]
    examples[1].click()
    assert done(browser) == "done"
    assert browser.find_elements("css selector", "#estimate-heads td") and browser.find_element("id", "stream").text
    no_javascript_errors(browser)


def sized(width, height, zoom=1):
    """A browser window of this size, at this zoom (chrome's)."""
    driver = chrome(zoom)
    driver.set_window_size(width, height)
    return driver


def every_section_fits(driver, port):
    """A run that draws every kind of section, after which the page is no wider than its window."""
    open_run(driver, f"http://127.0.0.1:{port}/?prompt={PROMPT}&max_new_tokens=4&heads=true"
                     f"&patch=<|endoftext|>qwzjxvktmyfpgdhqwzjxvk&patch_at=resid,heads&attribution_patching=true")
    assert done(driver) == "done"
    width, inner = driver.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner, (width, inner)


@pytest.fixture
def phone():
    driver = sized(390, 844)
    yield driver
    driver.quit()


def test_on_a_phone_nothing_scrolls_sideways(induction_server, phone):
    every_section_fits(phone, induction_server.port)


def test_on_a_phone_the_form_folds_and_the_run_and_its_answer_stay_in_view(induction_server, phone):
    """The option groups start closed on a phone; an example opens the groups it sets, and brings the run's text into
    view; a head's answer takes at most a quarter of the screen."""
    phone.get(f"http://127.0.0.1:{induction_server.port}/")
    ready(phone)
    groups = phone.find_elements("css selector", "#fields details")
    assert len(groups) >= 4 and not any(g.get_attribute("open") for g in groups)
    phone.find_element("css selector", "#start .example").click()  # the induction head at work: --heads
    assert done(phone) == "done"
    opened = {g.find_element("tag name", "summary").text.split(":")[0] for g in groups if g.get_attribute("open")}
    assert opened == {"experiments"}, opened  # its 8 tokens and KV cache are what the page starts with
    top, height = phone.execute_script("return [document.getElementById('stream').getBoundingClientRect().top, innerHeight]")
    assert 0 <= top < height * 0.9, (top, height)
    phone.execute_script("document.querySelector('#anatomy [data-head=\"1.0\"]').scrollIntoView({block: 'center'})")
    press(phone, '#anatomy [data-head="1.0"]')
    assert done(phone) == "done"
    bar, height = phone.execute_script("return [document.getElementById('compare').getBoundingClientRect().height, innerHeight]")
    assert 0 < bar <= height / 4 + 1, (bar, height)


@pytest.fixture
def dark():
    driver = chrome()
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    yield driver
    driver.quit()


def test_dark_mode_follows_the_system_and_the_map_keeps_its_labels(induction_server, dark):
    from png import pixels
    open_run(dark, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=0")
    assert done(dark) == "done"
    background = dark.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 18, 18)"
    canvas = dark.find_element("id", "map")
    dark.execute_script("arguments[0].scrollIntoView()", canvas)
    image = pixels(canvas.screenshot_as_png)
    labels = [image[y][x] for y in range(120, 160) for x in range(0, 110)]  # the row labels' corner
    assert max(sum(p) for p in labels) > 500, "light text on the dark page"
    press(dark, '#anatomy button[data-stage="mlp"][data-block="0"]')  # the drawing, and a panel with its canvases
    assert dark.execute_script("return getComputedStyle(document.querySelector('#anatomy svg .add')).fill") == "rgb(18, 18, 18)"
    assert axe_violations(dark) == []


def test_the_model_drawn_shows_the_lines_that_ran_and_the_runs_numbers(induction_server, browser):
    """The drawing is the residual stream: a line from the embedding to the unembedding and, per block, two branches
    that each end in an addition, labelled with the length of what they add (the model's own numbers, recomputed
    here). Each stage's panel holds this run's vector and lines of this project's files, at the line numbers it
    names. The heads are shaded by the measure chosen, and a click on one removes it."""
    import numpy as np
    from instruments.probe import probe
    from load import load_model
    from tokenizer import load_tokenizer
    model = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
    params, config = load_model(model)
    ids = load_tokenizer(model).encode(PROMPT)
    seen = probe(ids, params, config)
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=2&heads=true")
    assert done(browser) == "done"
    assert len(browser.find_elements("css selector", "#anatomy svg .stream")) == 1
    assert len(browser.find_elements("css selector", "#anatomy svg circle.add")) == 2 * config.n_layer
    adds = [a.text for a in browser.find_elements("css selector", "#anatomy .adds")]
    lengths = [np.linalg.norm(part[L][-1]) for L in range(config.n_layer) for part in (seen.attn, seen.mlp)]
    assert adds == [f"+{v:.1f}" for v in lengths], (adds, lengths)
    guesses = [g.text for g in browser.find_elements("css selector", "#anatomy .guess")]
    assert guesses[-1] == "\u2192 'b' 0.98", "after the last block: the model's own next token (the lens section closed)"
    heads = browser.find_elements("css selector", "#anatomy .heads [data-head]")
    assert [h.get_attribute("data-head") for h in heads] == [f"{b}.{h}" for b in range(2) for h in range(4)]
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element("id", "measure")).select_by_visible_text("induction score")
    assert browser.find_element("css selector", '#anatomy [data-head="1.0"]').get_attribute("title") == "head 1.0: induction score 0.77"
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(browser).move_to_element(browser.find_element("css selector", '#anatomy [data-head="1.0"]')).perform()
    preview = browser.find_element("css selector", "#anatomy .head-preview")
    assert preview.is_displayed() and preview.text.startswith("head 1.0: induction score 0.77; click to remove it")
    assert len(preview.find_elements("tag name", "canvas")) == 1, "its attention pattern, beside it"
    ActionChains(browser).move_to_element(browser.find_element("tag name", "h1")).perform()
    assert not preview.is_displayed()
    browser.execute_script("document.querySelector('#anatomy [data-head=\"0.2\"]').focus()")  # the keyboard's way
    assert preview.is_displayed() and preview.text.startswith("head 0.2: induction score")
    browser.execute_script("document.activeElement.blur()")
    for key in ("tokens", "embedding", "block", "layer_norm", "attention", "mlp", "unembed", "softmax"):
        press(browser, f'#anatomy button[data-stage="{key}"]')
        panel = browser.find_element("id", "stage-panel")
        places = panel.find_elements("css selector", "p.where")
        assert places, key
        for place, pre in zip(places, panel.find_elements("css selector", "pre.code")):
            path, first = place.text.split(", lines ")[0], int(place.text.split(", lines ")[1].split(" ")[0])
            source = open(os.path.join(ROOT, path), encoding="utf-8").read().splitlines()
            for span in pre.find_elements("css selector", "span.line"):
                n = int(span.get_attribute("data-line"))
                assert span.get_attribute("textContent") == f"{n:>4}  {source[n - 1]}\n", (path, n)
            assert first >= 1
    press(browser, '#anatomy button[data-stage="tokens"]')
    panel = browser.find_element("id", "stage-panel").text
    assert f"This run: {len(ids)} ids" in panel and f"{ids[0]} '<|endoftext|>', {ids[1]} 'q', {ids[2]} 'w'" in panel
    assert "lessons/bpe.py, lines" in panel, "the package's work, by hand"
    stage = browser.find_element("css selector", '#anatomy button[data-stage="attention"][data-block="1"]')
    browser.execute_script("arguments[0].focus()", stage)
    from selenium.webdriver.common.keys import Keys
    stage.send_keys(Keys.ENTER)  # by keyboard: the panel opens, and the focus stays on the stage in the new drawing
    assert browser.execute_script("const e = document.activeElement; return [e.dataset.stage, e.dataset.block]") == ["attention", "1"]
    text = browser.find_element("id", "stage-panel").text
    added = seen.attn[1][-1]
    assert (f"at the last position, 'k': all 64 numbers (mean {added.mean():.3f}, standard deviation {added.std():.3f}, "
            f"length {np.linalg.norm(added):.2f})") in text
    assert browser.execute_script("return D.anatomy.values.attn[1].last") == pytest.approx(added.tolist(), abs=5e-4)
    assert browser.execute_script("return D.anatomy.values.attn[1].lengths") == pytest.approx(
        np.linalg.norm(seen.attn[1], axis=-1).tolist(), abs=5e-3)
    small = browser.find_elements("css selector", "#stage-panel .small-map")
    assert [b.text for b in small] == ["1.0", "1.1", "1.2", "1.3"], "attention's panel: every head's pattern, small"
    browser.execute_script("arguments[0].click()", small[3])
    assert [browser.find_element("id", k).get_attribute("value") for k in ("block", "head")] == ["1", "3"]
    press(browser, '#anatomy button[data-stage="layer_norm"][data-block="0"][data-part="ln_2"]')
    assert "LayerNorm (block 0, before the MLP)" in browser.find_element("id", "stage-panel").text
    assert "its input there: mean" in browser.find_element("id", "stage-panel").text
    from tensor_ops import layer_norm
    normed = layer_norm(seen.states[0][-1:] + seen.attn[0][-1:], params.h[0].ln_2, config.layer_norm_epsilon)[0]
    assert browser.execute_script("return D.anatomy.values.ln_2[0]") == pytest.approx(normed.tolist(), abs=5e-4)
    press(browser, '#anatomy [data-head="1.0"]')
    assert done(browser) == "done" and browser.find_elements("css selector", '#anatomy [data-head="1.0"].ablated')
    no_javascript_errors(browser)


def test_a_head_clicked_at_the_bottom_of_the_window_is_not_hidden_by_the_answer(induction_server, browser):
    """The answer's bar is fixed at the bottom of the window: a head clicked where the bar then lies is scrolled
    just above it, so that the click and its answer are both in view."""
    browser.set_window_size(1300, 600)  # the drawing's block 1 below the first screen
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=4&heads=true")
    assert done(browser) == "done"
    head = browser.find_element("css selector", '#anatomy [data-head="1.0"]')
    browser.execute_script("window.scrollBy(0, arguments[0].getBoundingClientRect().bottom - innerHeight + 8)", head)
    assert browser.execute_script("return innerHeight - arguments[0].getBoundingClientRect().bottom", head) < 20
    head.click()
    assert done(browser) == "done"
    head = browser.find_element("css selector", '#anatomy [data-head="1.0"]')
    bottom, bar = browser.execute_script("return [arguments[0].getBoundingClientRect().bottom, "
                                         "document.getElementById('compare').getBoundingClientRect().top]", head)
    assert 0 < bottom <= bar, (bottom, bar)


def test_a_blocks_heads_all_at_once_and_the_number_beside_the_cursor(induction_server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=0#block=1&head=2")
    assert done(browser) == "done"
    small = browser.find_elements("css selector", "#small-maps .small-map")
    assert [b.text for b in small] == ["1.0", "1.1", "1.2", "1.3"] and small[2].get_attribute("aria-pressed") == "true"
    small[0].click()
    assert browser.find_element("id", "head").get_attribute("value") == "0" and "head=0" in browser.current_url
    canvas = browser.find_element("id", "map")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    margin, cell = 120, max(2, min(22, 900 // 23))  # page.js's geometry for 23 positions
    ActionChains(browser).move_to_element_with_offset(canvas, -canvas.size["width"] // 2 + margin + 3 * cell + cell // 2,
                                                      -canvas.size["height"] // 2 + margin + 22 * cell + cell // 2).perform()
    tip, readout = browser.find_element("id", "tip"), browser.find_element("id", "readout").text
    assert tip.is_displayed() and readout.startswith("block 1, head 0: row 22 ") and tip.text.endswith(readout[-5:])
    assert browser.execute_script("const c = document.getElementById('map'); return c.width / c.getBoundingClientRect().width") \
        == pytest.approx(browser.execute_script("return devicePixelRatio"), rel=0.01)


def test_a_hovered_token_colours_the_ones_before_it_by_the_heads_attention(induction_server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=0#block=1&head=0")
    assert done(browser) == "done"
    boxes = browser.find_elements("css selector", "#tokens .tok")
    ActionChains(browser).move_to_element(boxes[22]).perform()  # the last "k": 1.0 looks at the first "b", position 8
    shades = [browser.execute_script("return getComputedStyle(arguments[0]).backgroundColor", b) for b in boxes[:23]]
    darkest = min(range(23), key=lambda j: sum(int(v) for v in shades[j][4:-1].split(",")[:3]))
    assert darkest == 8, shades
    ActionChains(browser).move_to_element(browser.find_element("tag name", "h1")).perform()
    assert len({browser.execute_script("return getComputedStyle(arguments[0]).backgroundColor", b) for b in boxes[:23]}) == 1


@pytest.fixture
def zoomed():
    driver = sized(1300, 1000, zoom=2)
    yield driver
    driver.quit()


def test_at_200_percent_zoom_nothing_is_cut_and_the_map_is_sharp(induction_server, zoomed):
    """The browser's own zoom at 200% on a 1300 px window: a layout 650 CSS pixels wide, two device pixels to each."""
    every_section_fits(zoomed, induction_server.port)
    assert zoomed.execute_script("return devicePixelRatio") == 2 and zoomed.execute_script("return innerWidth") < 700
    from selenium.webdriver.support.ui import Select
    Select(zoomed.find_element("id", "measure")).select_by_visible_text("attribution patching's estimate (heads)")
    P = zoomed.execute_script("return D.json.patch")
    share = (zoomed.execute_script("return D.json.attribution_patching.heads[1][0]") - P["corrupted"]) / (P["clean"] - P["corrupted"])
    assert zoomed.find_element("css selector", '#anatomy [data-head="1.0"]').get_attribute("title") == \
        f"head 1.0: attribution patching's estimate (heads) {share * 100:.0f}% of the difference"
    for canvas in ("map", "small-maps canvas"):
        assert zoomed.execute_script(f"const c = document.querySelector('#{canvas}'); return c.width / c.getBoundingClientRect().width") == 2
    zoomed.execute_script("document.querySelector('#anatomy button[data-stage=\"mlp\"]').click()")
    assert zoomed.execute_script("const c = document.querySelector('#stage-panel canvas'); return c.width / c.getBoundingClientRect().width") == 2
    right = zoomed.execute_script("return Math.max(...[...document.querySelectorAll('#anatomy .diagram > *')].map((e) => e.getBoundingClientRect().right))")
    assert right <= zoomed.execute_script("return innerWidth"), "the drawing fits"
    no_javascript_errors(zoomed)


def test_the_lens_is_computed_when_its_section_is_opened(induction_server, browser):
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=2&ablate=0.1")
    assert done(browser) == "done"
    assert browser.execute_script("return D.lens") is None and not browser.find_elements("id", "lens-table")
    browser.execute_script("document.getElementById('lens-section').scrollIntoView()")
    browser.find_element("css selector", "#lens-section > summary").click()
    wait_until(browser, lambda d: d.find_elements("css selector", "#lens-table tr"))
    assert len(browser.find_elements("css selector", "#lens-table tr")) == 3 + 1  # the head row, layers 0 to 2
    no_javascript_errors(browser)


def test_a_long_prompt_keeps_its_per_head_maps_asked_of_the_server(slow_model, browser):
    """900 tokens on a model of 2 blocks and 2 heads: the page's data holds each block's average only; a head chosen
    is asked of the server and drawn, and the block's heads all at once come made small."""
    from conftest import Served
    from selenium.webdriver.support.ui import Select
    served = Served(slow_model)
    try:
        open_run(browser, f"http://127.0.0.1:{served.port}/?prompt={'hello%20' * 900}&max_new_tokens=0")
        assert done(browser) == "done"
        assert browser.execute_script("return D.attention.per_head") is False
        Select(browser.find_element("id", "head")).select_by_value("1")
        wait_until(browser, lambda d: d.execute_script("return (D.attention.asked || {})['0.1']"))
        n = browser.execute_script("return D.tokens.length - D.attention.first")
        assert len(browser.execute_script("return D.attention.asked['0.1']")) == n * (n + 1) // 2
        assert "head=1" in browser.current_url
        wait_until(browser, lambda d: len(d.find_elements("css selector", "#small-maps .small-map")) == 2)
        n_groups = len(browser.execute_script("return D.attention.small[0].starts"))
        assert n_groups == 96, "the block's heads all at once, each made 96 groups of positions a side"
        assert browser.execute_script("return D.attention.small[0].maps.map((m) => m.length)") == [96 * 97 // 2] * 2
        press(browser, '#anatomy button[data-stage="mlp"][data-block="1"]')  # 900 positions' lengths, in the panel's width
        assert browser.execute_script("const p = document.getElementById('stage-panel'); return p.scrollWidth <= p.clientWidth")
        press(browser, '#anatomy [data-head="1.0"]')  # a click on a 900-token prompt: the answer's bar keeps to a quarter
        assert done(browser) == "done"
        bar, height = browser.execute_script("return [document.getElementById('compare').getBoundingClientRect().height, innerHeight]")
        assert 0 < bar <= height / 4 + 1, (bar, height)
        no_javascript_errors(browser)
    finally:
        served.stop()


@pytest.mark.parametrize("size", ["phone", "zoomed"])
def test_why_and_who_made_up_for_it_pass_axe_on_a_phone_and_at_200_percent(induction_server, size, request):
    """The why sections, the table a click on a cell brings, a head's arithmetic and the changed numbers after a
    click: no critical or serious violation, nothing scrolls sideways, and the answer's bar keeps to a quarter."""
    driver = request.getfixturevalue(size)
    open_run(driver, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=2&heads=true"
                     f"&why_attends=1.0#block=1&head=0&cell=22,8")
    assert done(driver) == "done"
    driver.execute_script("fromFragment(); askWhy()")
    from selenium.webdriver.common.by import By
    from test_live_page import wait_until
    wait_until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#why-here-table"))
    press(driver, '#anatomy button[data-stage="attention"][data-block="1"]')
    press(driver, '#anatomy [data-head="1.0"]')
    assert done(driver) == "done"
    assert driver.find_elements(By.CSS_SELECTOR, "#anatomy [data-was]"), "the changed numbers say what they were"
    assert axe_violations(driver) == [], size
    width, inner, bar, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, innerWidth, document.getElementById('compare')"
        ".getBoundingClientRect().height, innerHeight]")
    assert width <= inner and 0 < bar <= height / 4 + 1, (width, inner, bar, height)
    no_javascript_errors(driver)


def test_the_edges_graph_and_an_edges_exact_path_patch_beside_its_estimate(induction_server, browser):
    """--edges on the live page: the strongest edges drawn and listed, the number shown changed by the learner, and a
    button on an edge from a head to the logits runs its exact path patch (--path logits) and writes it beside the
    estimate; axe-core finds nothing serious or critical."""
    from instruments.patch import measure
    from instruments.path_patch import path_grid
    from instruments.probe import probe
    from load import load_model
    from tokenizer import load_tokenizer
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=0"
                      "&patch=<|endoftext|>qwzjxvktmyfpgdhqwzjxvk&versus=t&edges=true")
    assert done(browser) == "done"
    assert browser.execute_script("return document.querySelectorAll('#edges line').length") == 12
    assert axe_violations(browser) == [], "the graph and its table"
    shown = browser.find_element("id", "edges-shown")
    shown.clear()
    shown.send_keys("30\n")
    wait_until(browser, lambda d: d.execute_script("return document.querySelectorAll('#edges line').length") == 30)
    press(browser, '#edges-table tr[data-edge="1.0>logits"] button')
    cell = '#edges-table tr[data-edge="1.0>logits"] td:last-child'
    wait_until(browser, lambda d: d.find_element("css selector", cell).get_attribute("data-exact"))
    exact = float(browser.find_element("css selector", cell).get_attribute("data-exact"))
    folder = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
    params, config = load_model(folder)
    tok = load_tokenizer(folder)
    clean = probe(tok.encode(PROMPT), params, config)
    corrupted = probe(tok.encode("<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"), params, config)
    metric = measure(tok.encode("b")[0], tok.encode("t")[0], params, config)
    expected = float(metric(clean.states[-1][-1])) - path_grid("logits", clean, corrupted, metric, params, config)[1][0]
    assert exact == pytest.approx(expected, abs=1e-3)
    assert "% of it)" in browser.find_element("css selector", cell).text
    assert axe_violations(browser) == [], "with an exact value shown"
    no_javascript_errors(browser)


def test_estimates_alone_and_the_share_each_large_effect_recovers(induction_server, browser):
    """--estimate-only draws the estimated grids without exact ones; with both, the agreement names the share of
    each of the largest exact effects the estimate recovers (1.0's output: 65%, as the terminal says)."""
    corrupted = "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"
    base = f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=0&patch={corrupted}&versus=t"
    open_run(browser, base + "&patch_at=heads&attribution_patching=true&estimate_only=true")
    assert done(browser) == "done"
    assert browser.find_elements("id", "estimate-heads") and not browser.find_elements("id", "patch-heads")
    assert "Estimated only (--estimate-only)" in browser.find_element("id", "experiments").text
    assert axe_violations(browser) == []
    open_run(browser, base + "&patch_at=heads&attribution_patching=true")
    assert done(browser) == "done"
    said = browser.find_element("css selector", "p.agreement").text
    assert "of the largest exact effects, the estimate recovers head 1.1: 62%, head 1.0: 65%" in said, said
    no_javascript_errors(browser)


def test_a_click_shows_beside_the_answer_who_made_up_for_the_removed_head(induction_server, browser):
    """A click that removes 1.0: under the run's answer, the change split exactly into its largest parts (1.0's lost
    direct effect first), and every part, with its bar, in "Who made up for it", adding up to the change; the answer's
    bar holds the answer only."""
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={PROMPT}&max_new_tokens=4&heads=true")
    assert done(browser) == "done"
    press(browser, '#heads-induction td[data-head="1.0"]')
    assert done(browser) == "done"
    summary = browser.find_element("css selector", "#made-up[data-self-repair-summary]")
    names = [e.get_attribute("data-part") for e in summary.find_elements("css selector", "[data-part]")]
    assert names[0] == "1.0" and "(removed)" in summary.text and 1 < len(names) <= 4
    assert all(abs(float(e.get_attribute("data-value"))) >= 5e-4 for e in summary.find_elements("css selector", "[data-part]"))
    assert not browser.find_elements("css selector", "#compare [data-part]"), "the answer's bar holds the answer only"
    rows = browser.find_elements("css selector", "#self-repair[data-self-repair] [data-part]")
    assert rows and rows[0].get_attribute("data-part") == names[0]
    said = browser.find_element("id", "experiments").text
    assert "Who made up for it" in said and "add up to" in said
    assert browser.execute_script("return document.getElementById('compare').getBoundingClientRect().height") \
        <= 0.25 * browser.execute_script("return innerHeight") + 1, "the answer's bar stays within a quarter of the window"
    assert axe_violations(browser) == []
    no_javascript_errors(browser)


LABELS = "#anatomy .diagram :is(.stage, .head, .adds, .guess, .top-five li, .caption-small)"
OVERLAPS = f"""const es = [...document.querySelectorAll('{LABELS}')], r = es.map((e) => e.getBoundingClientRect()), out = [];
for (let i = 0; i < es.length; i++) for (let j = i + 1; j < es.length; j++) {{
  const a = r[i], b = r[j];
  if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1)
    out.push([es[i].textContent, es[j].textContent]);
}}
return [es.length, out];"""


@pytest.fixture(scope="module")
def gpt2_shaped(tmp_path_factory):
    """GPT-2 124M's drawing: 12 blocks of 12 heads (the shapes decide it; n_embd 48 keeps the checkpoint small)."""
    from checkpoints import random_checkpoint, write
    from conftest import Served
    served = Served(str(write(tmp_path_factory.mktemp("gpt2-shaped"), *random_checkpoint(12, 12, 48, 64))))
    yield served
    served.stop()


@pytest.mark.parametrize("width, height, zoom", [(1440, 900, 1), (390, 844, 1), (1440, 900, 2), (768, 1024, 1)],
                         ids=["laptop", "phone", "laptop at 200%", "tablet"])
def test_gpt2_124m_drawing_keeps_its_labels_apart_and_fits_a_laptop(gpt2_shaped, width, height, zoom):
    """No label of the drawing covers another, before a click and after one (when the numbers that changed say what
    they were); at 1440x900, GPT-2 124M's drawing is at most 900 px tall, each block on one row."""
    driver = sized(width, height, zoom)
    try:
        open_run(driver, f"http://127.0.0.1:{gpt2_shaped.port}/?prompt=The%20color%20of%20the%20cat&max_new_tokens=1"
                         f"&lens=true&heads=true")
        assert done(driver) == "done"
        tall = "return document.querySelector('#anatomy .diagram').getBoundingClientRect().height"
        drawn = [(driver.execute_script(tall), driver.execute_script(OVERLAPS))]
        press(driver, '#anatomy [data-head="1.0"]')
        assert done(driver) == "done" and driver.find_elements("css selector", "#anatomy [data-was]")
        drawn.append((driver.execute_script(tall), driver.execute_script(OVERLAPS)))
        for drawing_height, (labels, overlapping) in drawn:
            assert labels > 12 * 12 + 12 * 6 and overlapping == [], overlapping
            if (width, zoom) == (1440, 1):
                assert drawing_height <= 900, drawing_height
        page, inner = driver.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
        assert page <= inner, (page, inner)
    finally:
        driver.quit()
