"""Sampling rules on toy logits: greedy, temperature, top-k, top-p, seeds."""

import numpy as np
import pytest

from conftest import TINY, run_main
from generate import greedy
from lessons.sampling import filtered_probs, sampler
from tensor_ops import softmax

LOGITS = np.log(np.array([0.5, 0.3, 0.15, 0.05], np.float32))  # probabilities 0.5, 0.3, 0.15, 0.05


def test_temperature_zero_is_greedy():
    assert sampler(0.0) is greedy
    assert greedy(np.array([0.1, 3.0, -2.0, 2.9], np.float32)) == 1


def test_a_temperature_near_zero_always_picks_the_argmax():
    pick = sampler(1e-4, seed=0)
    assert {pick(LOGITS) for _ in range(200)} == {0}


def test_temperature_below_one_sharpens_and_above_one_flattens():
    p = {t: filtered_probs(LOGITS, t) for t in (0.5, 1.0, 2.0)}
    assert p[0.5][0] > p[1.0][0] > p[2.0][0]  # the likeliest token gains as T falls
    assert p[0.5][3] < p[1.0][3] < p[2.0][3]  # the least likely one loses
    np.testing.assert_allclose(p[1.0], [0.5, 0.3, 0.15, 0.05], rtol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 10])
def test_top_k_keeps_exactly_the_k_likeliest(k):
    logits = np.random.default_rng(k).standard_normal(50).astype(np.float32)
    kept = np.flatnonzero(filtered_probs(logits, 1.0, top_k=k))
    assert set(kept) == set(np.argsort(-logits)[:k])


@pytest.mark.parametrize("p, kept", [(0.3, 1), (0.5, 1), (0.6, 2), (0.79, 2), (0.81, 3), (0.94, 3), (0.96, 4), (1.0, 4)])
def test_top_p_keeps_the_smallest_set_reaching_p(p, kept):
    assert np.count_nonzero(filtered_probs(LOGITS, 1.0, top_p=p)) == kept


def test_top_p_on_random_logits_keeps_the_smallest_set_whose_mass_reaches_p():
    rng = np.random.default_rng(0)
    for _ in range(50):
        logits = (3 * rng.standard_normal(100)).astype(np.float32)
        p = rng.uniform(0.05, 0.99)
        probs = softmax(logits)
        kept = filtered_probs(logits, 1.0, top_p=p)
        mass = np.sort(kept[kept > 0])[::-1]
        assert mass.sum() >= p - 1e-6 and mass[:-1].sum() < p
        assert kept[kept > 0].min() >= probs[kept == 0].max(initial=0)  # the likeliest ones are the kept ones


def test_samples_follow_the_probabilities():
    pick = sampler(1.0, seed=1)
    counts = np.bincount([pick(LOGITS) for _ in range(20000)], minlength=4) / 20000
    np.testing.assert_allclose(counts, [0.5, 0.3, 0.15, 0.05], atol=0.015)


def test_the_same_seed_gives_the_same_choices_and_another_seed_others():
    logits = np.zeros(1000, np.float32)

    def draws(seed):
        pick = sampler(1.0, seed=seed)
        return [pick(logits) for _ in range(20)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_the_cli_seed_reproduces_the_text():
    def text(seed):
        result = run_main("Hello", "--model", TINY, "-n", "20", "--temperature", "1.5", "--top-k", "100", "--seed", seed)
        assert result.returncode == 0, result.stderr
        return result.stdout
    assert text("3") == text("3") != text("4")
