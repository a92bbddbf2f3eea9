"""The greedy loop: each new id is the argmax of forward over the sequence so far."""
import numpy as np

from generate import generate
from model import forward


def test_each_step_is_the_argmax_of_forward(tiny):
    params, config = tiny
    ids = [464, 3290]
    for new_id in generate(ids, params, config, max_new_tokens=8):
        assert new_id == int(np.argmax(forward(ids, params, config)[-1]))
        ids = ids + [new_id]
    assert len(ids) == 10


def test_zero_new_tokens_yields_nothing(tiny):
    assert list(generate([464], *tiny, max_new_tokens=0)) == []


def test_generation_stops_when_the_context_is_full(tiny):
    params, config = tiny
    prompt = [464] * (config.n_ctx - 3)
    assert len(list(generate(prompt, params, config, max_new_tokens=10))) == 3
    assert list(generate([464] * config.n_ctx, params, config, max_new_tokens=10)) == []
