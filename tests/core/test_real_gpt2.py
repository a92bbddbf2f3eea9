"""Published answers of the real GPT-2 124M, when its weights are on disk: greedy ids from
transformers' own slow tests, a logits slice from elixir-nx/bumblebee's GPT-2 test, and heads named in
the interpretability literature (Olsson et al. 2022, Wang et al. 2022).

The build machines cannot download the weights, so these tests skip there, saying why. They run when
GPT2_MODEL_DIR names a folder with the checkpoint, or when openai-community/gpt2 is in the Hugging
Face cache (for example after one `python main.py "..."` run).
"""
import os

import numpy as np
import pytest

from conftest import assert_close


def real_gpt2_folder():
    folder = os.environ.get("GPT2_MODEL_DIR")
    if folder:
        return folder
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    paths = [try_to_load_from_cache("openai-community/gpt2", f) for f in ("config.json", "model.safetensors")]
    if all(isinstance(p, str) for p in paths):
        return os.path.dirname(paths[0])
    return None


FOLDER = real_gpt2_folder()
pytestmark = pytest.mark.skipif(
    FOLDER is None, reason="the real GPT-2 weights are not on disk (set GPT2_MODEL_DIR, or run main.py once "
                           "with a network to fill the Hugging Face cache)")


@pytest.fixture(scope="module")
def gpt2():
    from load import load_model
    from tokenizer import load_tokenizer
    params, config = load_model(FOLDER)
    return params, config, load_tokenizer(FOLDER)


def test_the_dog_greedy_to_20_ids(gpt2):
    from generate import generate
    params, config, tok = gpt2
    ids = [464, 3290]
    ids += list(generate(ids, params, config, max_new_tokens=18))
    assert ids == [464, 3290, 373, 1043, 287, 257, 2214, 1474, 262, 16246, 286, 2688, 290, 2688, 27262, 13,
                   198, 198, 464, 3290]
    assert tok.decode(ids) == "The dog was found in a field near the intersection of West and West Streets.\n\nThe dog"


def test_alan_turing_8_new_tokens(gpt2):
    from generate import generate
    params, config, tok = gpt2
    ids = tok.encode("Alan Turing theorized that computers would one day become")
    assert list(generate(ids, params, config, max_new_tokens=8)) == [262, 749, 3665, 8217, 319, 262, 5440, 13]


def test_logits_slice_matches_the_published_values(gpt2):
    from model import forward
    params, config, _ = gpt2
    logits = forward([15496, 11, 616, 3290, 318, 13779], params, config)
    assert logits.shape == (6, 50257) and logits.dtype == np.float32
    expected = np.array([[-114.5832, -116.5725, -116.0830],
                         [-89.8644, -93.1977, -94.4351],
                         [-88.3380, -92.8703, -94.4454]])
    assert_close(logits[1:4, 1:4], expected, 1e-4, "logits[1:4, 1:4]")


def test_head_5_5_is_among_the_top_three_induction_heads(gpt2):
    """Olsson et al. 2022 and TransformerLens's main demo name 5.5 the strongest induction head of GPT-2 small."""
    from instruments.head_roles import head_scores
    from instruments.probe import probe
    params, config, tok = gpt2
    seen = probe(tok.encode("The animal is yellow. It's a cat."), params, config)
    _, _, scores = head_scores(seen, params, config, tok.eos_id)
    top3 = [(s.block, s.head) for s in sorted(scores, key=lambda s: -s.induction)[:3]]
    assert (5, 5) in top3, top3


def test_the_name_movers_write_the_indirect_object(gpt2):
    """Wang et al. 2022 (IOI): the name movers 9.9, 9.6 and 10.0 push " Mary" above " John" directly;
    the negative name movers 10.7 and 11.10 push the other way."""
    from instruments.attribute import attribute
    from instruments.probe import probe
    params, config, tok = gpt2
    seen = probe([tok.eos_id] + tok.encode("When John and Mary went to the shops, John gave the bag to"), params, config)
    mary, john = tok.encode(" Mary")[0], tok.encode(" John")[0]
    logit_mary, parts_mary = attribute(seen, mary, params, config)
    logit_john, parts_john = attribute(seen, john, params, config)
    difference = {label: m - j for (label, m), (_, j) in zip(parts_mary, parts_john)}
    assert logit_mary > logit_john
    assert all(difference[h] > 0 for h in ("9.9", "9.6", "10.0")), difference
    assert all(difference[h] < 0 for h in ("10.7", "11.10")), difference
    assert abs(sum(difference.values()) - (logit_mary - logit_john)) < 1e-3


IOI = "When John and Mary went to the shops, John gave the bag to"


def test_the_name_movers_copy_what_they_attend_to(gpt2):
    """Wang et al. 2022, section 3.1: the name movers' OV circuits copy names (copy scores above 95% there, on
    names; here on every position of an IOI prompt, so only "among the highest" is asserted)."""
    from instruments.copying import copying_scores
    from instruments.probe import probe
    params, config, tok = gpt2
    ids = [tok.eos_id] + tok.encode(IOI)
    scores = copying_scores(ids, probe(ids, params, config), params, config)
    best = [(b, h) for b, h, _ in sorted(scores, key=lambda s: -s[2])[:20]]
    assert {(9, 9), (9, 6), (10, 0)} <= set(best), best


def test_path_patching_to_the_logits_names_the_name_movers_first(gpt2):
    """Corrupting who gave (John -> Mary) removes the name movers' reason to write " Mary": their direct path to
    the logits carries most of logit(" Mary") - logit(" John")."""
    from instruments.patch import measure
    from instruments.path_patch import path_grid
    from instruments.probe import probe
    params, config, tok = gpt2
    clean = probe([tok.eos_id] + tok.encode(IOI), params, config)
    corrupted = probe([tok.eos_id] + tok.encode(IOI.replace("John gave", "Mary gave")), params, config)
    metric = measure(tok.encode(" Mary")[0], tok.encode(" John")[0], params, config)
    grid = path_grid("logits", clean, corrupted, metric, params, config)
    before = float(metric(clean.states[-1][-1]))
    drops = sorted(((before - v, b, h) for b, row in enumerate(grid) for h, v in enumerate(row)), reverse=True)
    first = [(b, h) for _, b, h in drops[:5]]
    assert first[0] in {(9, 9), (9, 6), (10, 0)} and {(9, 9), (9, 6), (10, 0)} <= set(first), drops[:5]
