"""Properties over families of inputs too large to list, with Hypothesis generating them (seconds, not minutes):

- whatever text a run holds (prompt, tokens, command line), the page's embedded data parses back to exactly that
  data in a real browser's DOM, and the page draws without a JavaScript error; whatever its link fragment;
- whatever a .safetensors header says, reading it ends in the weights or in one ModelError, never another exception.
"""
import itertools
import json
import os
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from checkpoints import tiny_config, tiny_tensors, write
from config import ModelError, read_config
from conftest import TINY
from load import load_params

PAGES = itertools.count()
# Text that has broken pages: markup, script data's escapes, comment openers, line separators, lone halves of
# characters a JSON encoder may meet, and everything else Unicode has.
NASTY = st.lists(st.sampled_from(list("<>!-/'\"&\\ \n\t") + ["<!--", "<script", "</script>", "-->", "\u2028", "\u2029",
                                                                "\x00", "\ufffd", "😀", "é"])
                 | st.characters(codec="utf-8"), max_size=15).map("".join)


@pytest.fixture(scope="module")
def base_page():
    """The page data of one real run of the tiny model, with its experiments."""
    import main
    from instruments.page.data import page_data
    from load import load_checkpoint
    from plumbing.arguments import command_line, parse_args
    model = load_checkpoint(TINY, TINY)
    args = parse_args(command_line(), ["The animal is yellow. It's a cat.", "-n", "2", "--heads", "--attribute",
                                       "--report", "unused.html"])
    return page_data(main.one_run(args, model), model, "main.py ...")


def shown(browser, path, fragment=""):
    """(the data as the browser's DOM holds it, parsed; the page's JavaScript errors) for the page at path."""
    browser.get(f"file://{path}#{fragment}")
    assert browser.execute_script("return document.body.getAttribute('data-ready')") == "yes", "the page did not draw"
    data = json.loads(browser.execute_script("return document.getElementById('data').textContent"))
    errors = browser.find_element("id", "errors").text + "".join(
        e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE")
    return data, errors


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompt=NASTY, command=NASTY, token=NASTY, generated=NASTY)
@example(prompt="<!-- <script>", command="", token="x", generated="y")  # what blanked the page: script data's escapes
@example(prompt="<!--", command="<script", token="</script>", generated="-->")
def test_any_text_on_the_page_parses_back_and_never_becomes_markup(base_page, browser, tmp_path, prompt, command,
                                                                  token, generated):
    from instruments.page.report import page
    data = json.loads(json.dumps(base_page))
    data.update(prompt=prompt, command=command)
    data["tokens"][1][2] = token
    data["generated"][0][2] = generated
    data["texts"][str(data["generated"][0][0])] = generated
    path = tmp_path / f"page-{next(PAGES)}.html"  # a new address each time: the same one would not be loaded again
    path.write_text(page(data), encoding="utf-8")
    back, errors = shown(browser, path)
    assert back == data and errors == ""
    assert browser.find_element("css selector", "#tokens .tok[data-i='1']").get_attribute("textContent") == token
    assert browser.execute_script("return document.querySelectorAll('script').length") == 2, "no script was added"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fragment=st.text(alphabet=st.sampled_from(list("blockhead=&cel,0123456789-avgx.%e")), max_size=40))
def test_any_link_fragment_leaves_the_page_drawn(base_page, browser, tmp_path, fragment):
    from instruments.page.report import page
    path = tmp_path / f"page-{next(PAGES)}.html"
    path.write_text(page(base_page), encoding="utf-8")
    _, errors = shown(browser, path, fragment)
    assert errors == ""


# The safetensors header: an 8-byte length, then JSON describing each tensor, then the bytes.

NAMES = st.sampled_from(sorted(tiny_tensors())) | st.text(max_size=12)
ENTRY = st.fixed_dictionaries({
    "dtype": st.sampled_from(["F32", "F16", "BF16", "I64", "U8", "BOOL", "F64", "X"]) | st.integers(),
    "shape": st.lists(st.integers(min_value=-3, max_value=70000) | st.floats(allow_nan=True), max_size=4) | st.none(),
    "data_offsets": st.lists(st.integers(min_value=-5, max_value=1 << 40), min_size=0, max_size=3) | st.text(max_size=3),
})
HEADERS = st.dictionaries(NAMES, ENTRY | st.integers() | st.none(), max_size=6)


def header_file(folder, header, data, claimed_length=None):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text) if claimed_length is None else claimed_length) + text + data)
    return os.path.join(folder, "model.safetensors")


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = write(tmp_path_factory.mktemp("config"), tiny_tensors(), tiny_config())
    return read_config(os.path.join(folder, "config.json"))


def read_or_refuse(path, config):
    try:
        load_params([path], config)
    except ModelError as e:
        assert str(e) and "\n" not in str(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=HEADERS, data=st.binary(max_size=256))
def test_any_header_is_read_or_refused_in_one_sentence(config, tmp_path, header, data):
    read_or_refuse(header_file(tmp_path, header, data), config)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200), claimed=st.integers(min_value=0, max_value=(1 << 64) - 1) | st.none())
def test_any_bytes_after_the_length_are_read_or_refused_in_one_sentence(config, tmp_path, raw, claimed):
    read_or_refuse(header_file(tmp_path, raw, b"", claimed), config)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=st.sampled_from(["shape", "dtype", "data_offsets"]), name=st.sampled_from(sorted(tiny_tensors())),
       value=st.integers(min_value=-2, max_value=200) | st.text(max_size=3))
def test_a_real_header_changed_in_one_place_is_read_or_refused(config, tmp_path, change, name, value):
    source = os.path.join(TINY, "model.safetensors")
    with open(source, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header, data = json.loads(f.read(n)), f.read()
    entry = header[name]
    entry[change] = ([value] + entry["shape"][1:] if change == "shape" else
                     value if change == "dtype" else [value, entry["data_offsets"][1]])
    read_or_refuse(header_file(tmp_path, header, data), config)


VALUES = st.one_of(st.sampled_from(["--", "-", "-1", "-x", "--help", "-h", "1e400", "nan", "0", "1:2", "-1:", "0.0,1.1",
                                    "resid,heads", "logits", "0.0.q", "", " ", "9" * 5000]),
                   st.text(max_size=12), st.integers(-10**25, 10**25).map(str), st.floats().map(str))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_option_value_on_the_command_line_is_taken_or_one_sentence(data):
    """parse_args on option=value (and on option value) ends in the options or in UsageError, never in another
    exception; its sentence is one line, and a value is never echoed whole past a few hundred characters."""
    from plumbing.arguments import UsageError, command_line, parse_args
    parser = command_line()
    options = [a.option_strings[-1] for a in parser._actions if a.option_strings and a.dest not in ("help", "prompt_file")]
    option, value = data.draw(st.sampled_from(options)), data.draw(VALUES)
    for argv in ([f"{option}={value}", "--", "The color"], [option, value, "--", "The color"]):
        try:
            parse_args(parser, argv)
        except UsageError as e:
            assert "\n" not in str(e) and len(str(e)) < 400, (argv, str(e))
        except SystemExit as e:  # the help, asked for by a value that is an option of its own (--ignore-eos --help)
            assert e.code == 0 and value in ("--help", "-h") and argv[1] == value, argv
