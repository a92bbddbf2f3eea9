"""The live page in a real browser: Chromium driven by Selenium through Debian's chromedriver, against
main.py --serve on 127.0.0.1 (a port the system picks).

A learner types a prompt and runs it; the tokens and the continuation shown are the command line's. A
click on a head in the head-role table removes it: the answer shown without it is the command line's
--ablate answer, beside the answer with every head. The address then holds that state: opened in a
new window, it fills the form and waits for Run, then does the same runs. No JavaScript error reaches the console. The tests skip, saying why,
where Selenium, Chromium or chromedriver is missing (.ci/run installs them).
"""
import json
import os
import shlex

import pytest

from conftest import NO_BROWSER, ROOT, SCREENSHOTS, TINY, json_of, run_main, run_tiny
from png import pixels

pytestmark = pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")
PROMPT = "The animal is yellow. It's a cat. It's color is yellow. The color of the cat"


RECORD_VIOLATIONS = """window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.violatedDirective + " " + e.blockedURI));"""


def wait_until(driver, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def open_run(driver, address):
    """Open the page at an address that holds a run, and press Run (the page waits for the user)."""
    from selenium.webdriver.common.by import By
    driver.get(address)
    wait_until(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")
    driver.find_element(By.ID, "run").click()


def press(driver, selector):
    """Click the element as a user does: scrolled to the middle of the window first, clear of the answer's bar."""
    element = driver.find_element("css selector", selector)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def done(driver):
    """Wait until the page's last run has ended, and return its status."""
    wait_until(driver, lambda d: d.find_element("id", "run").is_enabled() and d.find_element("id", "status").text
               in ("done", "stopped") or d.find_element("id", "problem").text)
    return driver.find_element("id", "status").text


def no_javascript_errors(driver, answered=()):
    """Nothing severe in the console, but the network's note of the statuses in answered (a 400 is the server's
    answer to a mistake, which the page shows)."""
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
              and not (entry["source"] == "network" and any(f"status of {s} " in entry["message"] for s in answered))]
    assert not severe and driver.find_element("id", "errors").text == "", severe


def shown_tokens(driver):
    return [e.text for e in driver.find_elements("css selector", "#tokens .tok")], \
           [e.text for e in driver.find_elements("css selector", "#tokens .tok.new")]


def test_type_a_prompt_run_it_click_a_head_away_and_open_the_address_again(tiny_server, browser, tok):
    from selenium.webdriver.common.by import By
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    browser.get(f"http://127.0.0.1:{tiny_server.port}/")
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")
    from plumbing.arguments import command_line
    from plumbing.page_options import api_options
    fields = [e.get_attribute("id")[2:] for e in browser.find_elements(By.CSS_SELECTOR, "#ask [id^='o-']")]
    assert fields == [key for key in api_options(command_line()) if key != "ablate"], "the form is the parser's options"
    assert all(browser.find_element(By.CSS_SELECTOR, f"label:has(#o-{key})").text.strip() for key in fields)
    prompt = browser.find_element(By.ID, "o-prompt")
    prompt.clear()
    prompt.send_keys(PROMPT)
    count = browser.find_element(By.ID, "o-max_new_tokens")
    count.clear()
    count.send_keys("5")
    browser.find_element(By.ID, "o-heads").click()
    browser.find_element(By.ID, "run").click()
    assert done(browser) == "done"

    plain = json_of(run_tiny(PROMPT, "-n", "5", "--heads", "--json"))
    everything, generated = shown_tokens(browser)
    ids = plain["prompt_ids"] + plain["generated_ids"]
    assert everything == [repr(tok.decode([i])) for i in ids]  # every token of this prompt is whole characters
    assert generated == [repr(tok.decode([i])) for i in plain["generated_ids"]]
    command = shlex.join(["./run.sh", PROMPT, "--max-new-tokens=5", "--kv-cache", "--heads", "--model", TINY])  # the page starts with the KV cache on
    assert browser.find_element(By.ID, "command").text == command, "the same run in a terminal"
    assert run_main(*shlex.split(command)[1:], "--json").stdout.splitlines()[-1] == json.dumps(plain)
    no_javascript_errors(browser)

    press(browser, '#heads-induction td[data-head="2.3"]')
    assert done(browser) == "done"
    ablated = json_of(run_tiny(PROMPT, "-n", "5", "--heads", "--ablate", "2.3", "--json"))
    assert ablated["generated_ids"] != plain["generated_ids"], "the head chosen must change the answer"
    assert browser.find_element(By.CSS_SELECTOR, "#compare .without-ablation .answer").text == plain["text"][len(PROMPT):]
    assert browser.find_element(By.CSS_SELECTOR, "#compare .with-ablation .answer").text == ablated["text"][len(PROMPT):]
    assert browser.execute_script("return window.violations") == [], "the page keeps its own security policy"
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#ablated-set .chip")] == ["2.3"]
    assert shown_tokens(browser)[1] == [repr(tok.decode([i])) for i in ablated["generated_ids"]]
    shown_probability = browser.find_element(By.CSS_SELECTOR, "#compare .with-ablation .probability").text
    assert shown_probability.startswith(f"P({tok.decode([plain['generated_ids'][0]])!r}) after the prompt: ")
    no_javascript_errors(browser)

    address = browser.current_url
    assert "ablate=2.3" in address and "heads=true" in address and "max_new_tokens=5" in address
    browser.switch_to.new_window("window")
    browser.get(address)
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")
    assert browser.find_element(By.ID, "status").text == "this address holds a run: check it above, then press Run"
    assert browser.find_element(By.ID, "o-prompt").get_attribute("value") == PROMPT
    assert not browser.find_elements(By.CSS_SELECTOR, "#compare .answer"), "a run in the address waits for the user"
    browser.find_element(By.ID, "run").click()
    assert done(browser) == "done"
    assert browser.find_element(By.CSS_SELECTOR, "#compare .with-ablation .answer").text == ablated["text"][len(PROMPT):]
    assert browser.find_element(By.CSS_SELECTOR, "#compare .without-ablation .answer").text == plain["text"][len(PROMPT):]
    assert browser.find_element(By.ID, "o-prompt").get_attribute("value") == PROMPT
    no_javascript_errors(browser)


def test_the_attention_map_draws_the_probes_weights(tiny_server, browser, tiny, tok):
    """The canvas's pixels at a cell are the weight's shade: rgba(8, 48, 107, weight) on white."""
    from selenium.webdriver.common.by import By
    from instruments.probe import probe
    ids = tok.encode(PROMPT)
    weights = probe(ids, *tiny).attention
    open_run(browser, f"http://127.0.0.1:{tiny_server.port}/?prompt={PROMPT}&max_new_tokens=0#block=1&head=2")
    assert done(browser) == "done"
    canvas = browser.find_element(By.ID, "map")
    browser.execute_script("arguments[0].scrollIntoView()", canvas)  # all of it in the window: a screenshot shows what is
    image = pixels(canvas.screenshot_as_png)
    n = len(ids)
    cell, margin = max(2, min(22, 900 // n)), 120
    for row, col in ((20, 3), (5, 5), (12, 0), (3, 10)):
        w = round(float(weights[1][2, row, col]) * 1000) / 1000 if col <= row else None
        red, green, blue = image[margin + row * cell + cell // 2][margin + col * cell + cell // 2]
        if w is None:
            assert (red, green, blue) in ((0xdd,) * 3, (0xe9,) * 3), "the future is hatched grey"
        else:
            expected = tuple(round(255 + (c - 255) * w) for c in (8, 48, 107))
            assert max(abs(a - b) for a, b in zip((red, green, blue), expected)) <= 3, (row, col, w, (red, green, blue))
    no_javascript_errors(browser)


def test_a_mistake_on_the_page_is_its_sentence_and_the_page_goes_on(tiny_server, browser):
    from selenium.webdriver.common.by import By
    open_run(browser, f"http://127.0.0.1:{tiny_server.port}/?prompt=hi&max_new_tokens=2&patch=hi%20there")
    done(browser)
    assert "--patch needs a corrupted prompt with as many tokens as the prompt" in browser.find_element(By.ID, "problem").text
    browser.find_element(By.ID, "o-patch").clear()
    browser.find_element(By.ID, "run").click()
    assert done(browser) == "done" and browser.find_element(By.ID, "problem").text == ""
    no_javascript_errors(browser, answered=[400])


def test_text_from_the_prompt_never_becomes_markup(tiny_server, browser):
    from selenium.webdriver.common.by import By
    nasty = '<!-- <script>document.title="owned"</script> </script><img src=x onerror="document.title=1">'
    browser.get(f"http://127.0.0.1:{tiny_server.port}/")
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")
    browser.find_element(By.ID, "o-prompt").send_keys(nasty)
    browser.find_element(By.ID, "run").click()
    assert done(browser) == "done"
    assert browser.title == "numpy-gpt2" and not browser.find_elements(By.CSS_SELECTOR, "#tokens img, #meta img")
    assert nasty in browser.find_element(By.ID, "command").text
    no_javascript_errors(browser)


def test_on_the_induction_model_a_click_on_the_induction_head_breaks_the_copy(induction_server, browser):
    """What the README's screenshot shows (NUMPY_GPT2_SCREENSHOTS=docs writes it there)."""
    from selenium.webdriver.common.by import By
    model = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
    prompt = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk"
    browser.set_window_size(1300, 1000)
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={prompt}&max_new_tokens=8&heads=true#block=1&head=0")
    assert done(browser) == "done"
    changed = "return [...document.querySelectorAll('#anatomy [data-was]')].map((e) => [e.className, e.getAttribute('data-was')])"
    assert browser.execute_script(changed) == [], "with every head, nothing has changed yet"
    press(browser, '#heads-induction td[data-head="1.0"]')
    assert done(browser) == "done"
    was = browser.execute_script(changed)  # each number of the drawing that changed says what it was
    lens = json_of(run_main(prompt, "--model", model, "-n", "0", "--lens", "--json"))["lens"]
    assert ["guess changed", f"'b' {lens[2][3]:.2f}"] in was, was
    assert ["changed", f"'b' {lens[2][3]:.2f}"] in was, "the top five's first"
    assert any(cls == "adds left-of changed" for cls, _ in was), was
    result = run_main(prompt, "--model", model, "-n", "8", "--heads", "--ablate", "1.0", "--json")
    without = json_of(result)
    assert browser.find_element(By.CSS_SELECTOR, "#compare .with-ablation .answer").text == without["text"][len(prompt):]
    assert browser.find_element(By.CSS_SELECTOR, "#compare .without-ablation .answer").text == "bmyfpgdh", "the answer, not the prompt again"
    top, bottom, height = browser.execute_script("const r = document.getElementById('compare').getBoundingClientRect(); "
                                                 "return [r.top, r.bottom, innerHeight]")
    assert 0 <= top and bottom <= height, "the answer stays in view, wherever the click was"
    assert browser.find_elements(By.CSS_SELECTOR, "#compare .with-ablation .differs"), "the tokens that changed are marked"
    click = browser.execute_script("return clicks[clicks.length - 1]")
    assert click["click"] < click["answer"] < click["page"], "the answer is drawn first, the tables after it"
    no_javascript_errors(browser)
    image = pixels(browser.get_screenshot_as_png())
    assert (len(image[0]), len(image)) == tuple(browser.execute_script("return [innerWidth, innerHeight]"))
    if SCREENSHOTS:
        browser.set_window_size(1300, 1250)
        browser.execute_script("document.querySelector('#anatomy [data-stage=\"attention\"][data-block=\"1\"]').click();"
                               "document.getElementById('measure').scrollIntoView()")  # the model drawn, a stage, the answer
        browser.save_screenshot(os.path.join(SCREENSHOTS, "live.png"))


def test_a_server_that_dies_mid_run_is_said_so_not_called_stopped(slow_model, browser):
    from selenium.webdriver.common.by import By
    from conftest import Served
    served = Served(slow_model)
    try:
        browser.get(f"http://127.0.0.1:{served.port}/")
        wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")
        browser.find_element(By.ID, "o-prompt").send_keys("hello " * 300)
        count = browser.find_element(By.ID, "o-max_new_tokens")
        count.clear()
        count.send_keys("700")
        browser.find_element(By.ID, "run").click()
        wait_until(browser, lambda d: len(d.find_element(By.ID, "stream").text) > len("hello " * 300))  # under way
        served.process.kill()
        served.process.wait(timeout=10)
        wait_until(browser, lambda d: d.find_element(By.ID, "problem").text, timeout=300)
        assert browser.find_element(By.ID, "problem").text in (
            "the connection to the server broke during the run: the server may have stopped; see its console",
            "the server ended the run before its end without saying why: it may have stopped; see its console")
        assert browser.find_element(By.ID, "status").text != "stopped"
    finally:
        if served.process.poll() is None:
            served.stop()


def test_removing_heads_never_changes_the_token_the_experiments_follow(induction_server, browser):
    """The issue's case: with no target typed, removing 1.0 made the attribution follow <92> instead of 'b', and
    then clicking 0.2 made every path cell +0.13 for <b4>, while the comparison still spoke of P('b'). Now every
    run after a click follows the token of the run with every head, and says so; with --versus, the comparison
    shows the logit difference, as the grids do."""
    from selenium.webdriver.common.by import By
    model = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
    prompt, corrupted = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk", "<|endoftext|>qwzjxvktmyfpgdhqwzjxvk"
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={prompt}&max_new_tokens=2&attribute=true"
                      f"&heads=true&patch={corrupted}&path=logits")
    assert done(browser) == "done"
    b = json_of(run_main(prompt, "--model", model, "-n", "0", "--attribute", "--json"))["attribute"]["target"]
    for head, also in (("1.0", []), ("0.2", ["1.0"])):
        press(browser, f'#heads-induction td[data-head="{head}"]')
        assert done(browser) == "done"
        removed = ",".join(sorted([head, *also]))
        expected = json_of(run_main(prompt, "--model", model, "-n", "2", "--attribute", "--heads", "--patch", corrupted,
                                    "--path", "logits", "--ablate", removed, "--target-id", str(b), "--json"))
        own = json_of(run_main(prompt, "--model", model, "-n", "0", "--attribute", "--ablate", removed, "--json"))
        assert own["attribute"]["target"] != b, "this removal changes the model's own next token"
        shown = browser.execute_script("return D.json")
        assert shown["attribute"]["target"] == shown["patch"]["target"] == b
        assert [round(v, 3) if v is not None else None for row in shown["path"]["grid"] for v in row] == \
               [round(v, 3) if v is not None else None for row in expected["path"]["grid"] for v in row]
        assert f"follow 'b' (id {b}): the token the run with every head predicts next" in browser.find_element(By.ID, "followed").text
        assert browser.find_element(By.CSS_SELECTOR, "#compare .with-ablation .probability").text.startswith("P('b')")
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={prompt}&max_new_tokens=2&heads=true"
                      f"&patch={corrupted}&versus=t")
    assert done(browser) == "done"
    press(browser, '#heads-induction td[data-head="1.0"]')
    assert done(browser) == "done"
    for side in ("with-ablation", "without-ablation"):
        assert browser.find_element(By.CSS_SELECTOR, f"#compare .{side} .probability").text.startswith(
            "logit('b') - logit('t') after the prompt: "), "the grids' metric"
    no_javascript_errors(browser)


def test_a_click_on_a_cell_of_a_heads_map_says_why_the_head_looks_there(induction_server, browser):
    """The cell (the last 'k', the first 'b') of head 1.0: the server's table (--why-attends's) beside the map,
    and the map's keyboard does the same with Enter."""
    from selenium.webdriver.common.by import By
    model = os.path.join(ROOT, "tests", "fixtures", "induction-gpt2")
    prompt = "<|endoftext|>qwzjxvkbmyfpgdhqwzjxvk"
    open_run(browser, f"http://127.0.0.1:{induction_server.port}/?prompt={prompt}&max_new_tokens=2#block=1&head=0&cell=22,8")
    assert done(browser) == "done"
    expected = json_of(run_main(prompt, "--model", model, "-n", "0", "--why-attends", "1.0", "--why-query", "22",
                                "--why-key", "8", "--json"))["why_attends"]
    browser.execute_script("fromFragment(); askWhy()")  # the cell the address names, as a click on it asks
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#why-here-table tr[data-part]"))
    rows = browser.execute_script("return [...document.querySelectorAll('#why-here-table tr[data-part]')]"
                                  ".map((r) => [r.getAttribute('data-part'), Number(r.getAttribute('data-value'))])")
    cells = {f"{expected['parts'][i]}|{expected['parts'][j]}": v for i, row in enumerate(expected["table"])
             for j, v in enumerate(row)}
    assert len(rows) == 12 and all(abs(cells[part] - value) <= 1e-4 for part, value in rows), rows
    assert "Why head 1.0 looks here" in browser.find_element(By.ID, "why-here").text
    browser.execute_script("document.getElementById('why-here').textContent = ''; view.cell = [20, 7]")
    browser.find_element(By.ID, "map").send_keys("\n")  # Enter on the focused map asks for the cell it shows
    wait_until(browser, lambda d: "score at (20, 7)" in d.find_element(By.ID, "why-here").text)
    # under it, the head's arithmetic at that query: its 21 keys' q . k and weights, the probe's; the 2 after, masked
    from instruments.probe import probe
    from load import load_checkpoint
    loaded = load_checkpoint(model, model)
    seen = probe(loaded.tok.encode(prompt), loaded.params, loaded.config)
    rows = browser.execute_script("return [...document.querySelectorAll('#why-arithmetic [data-arithmetic=\"1.0\"]"
                                  "[data-query=\"20\"] tr[data-key]')].map((r) => [...r.children].slice(1).map((c) => Number(c.textContent)))")
    q, k, w = seen.q[1][0, 20], seen.k[1][0], seen.attention[1][0, 20]
    assert len(rows) == 21 and all(qk == pytest.approx(float(q @ k[j]), abs=6e-4) and weight == pytest.approx(float(w[j]), abs=6e-5)
                                   for j, (qk, _, _, weight) in enumerate(rows)), rows
    assert "the 2 after it get \u2212\u221e" in browser.find_element(By.ID, "why-arithmetic").text
    no_javascript_errors(browser)


def test_the_estimates_come_first_and_a_stop_keeps_them(slow_model, browser):
    """--attribution-patching on the page: the estimated grids (three forward passes) are drawn while the exact
    grids run; Stop during the exact grids keeps the estimates on the page, and says so."""
    from conftest import Served
    served = Served(slow_model)
    try:
        prompt = "hello " * 999
        corrupted = "world " + "hello " * 998
        open_run(browser, f"http://127.0.0.1:{served.port}/?prompt={prompt}&max_new_tokens=0&patch={corrupted}"
                          "&patch_at=resid,heads&attribution_patching=true")
        wait_until(browser, lambda d: d.find_elements("id", "estimate-heads")
                   and "of" in d.find_element("id", "status").text, timeout=300)  # the exact grids under way
        assert not browser.find_elements("id", "patch-heads"), "the exact grids are not in yet"
        browser.find_element("id", "stop").click()
        wait_until(browser, lambda d: d.find_element("id", "run").is_enabled()
                   and "the estimates are shown" in d.find_element("id", "status").text)
        assert browser.find_elements("id", "estimate-heads") and browser.find_elements("id", "estimate-resid")
        no_javascript_errors(browser)
    finally:
        served.stop()
