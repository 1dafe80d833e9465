"""Random search: distributions, reproducibility, budget, ordering and the results table."""

import math

import numpy as np
import pytest

from lstm_ref.training.search import (Choice, LogUniform, Uniform, random_search,
                                            sample_config, trials_table)


def test_distributions_stay_in_range_and_log_uniform_is_uniform_in_log():
    rng = np.random.default_rng(0)
    lr = np.array([LogUniform(1e-4, 1e-1).sample(rng) for _ in range(4000)])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1
    # each decade gets a third of the draws; the median sits at the geometric mean 10**-2.5
    decades = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1])[0] / len(lr)
    np.testing.assert_allclose(decades, 1 / 3, atol=0.03)
    assert abs(np.log10(np.median(lr)) + 2.5) < 0.05
    u = np.array([Uniform(0.0, 0.5).sample(rng) for _ in range(2000)])
    assert u.min() >= 0 and u.max() <= 0.5 and abs(u.mean() - 0.25) < 0.02
    picks = [Choice([16, 32, 64]).sample(rng) for _ in range(3000)]
    counts = np.array([picks.count(v) for v in (16, 32, 64)]) / len(picks)
    np.testing.assert_allclose(counts, 1 / 3, atol=0.03)
    assert all(type(p) is int for p in picks)


def test_random_search_budget_order_and_reproducibility():
    space = {"lr": LogUniform(1e-3, 1.0), "width": Choice([1, 2, 3])}
    calls = []

    def objective(config):
        calls.append(config)
        score = (math.log10(config["lr"]) + 1.5) ** 2 + config["width"]
        return score, {"twice": 2 * score}

    trials = random_search(objective, space, 12, np.random.default_rng(5))
    assert len(calls) == 12 and len(trials) == 12
    scores = [t.score for t in trials]
    assert scores == sorted(scores)
    assert trials[0].score == min(objective(c)[0] for c in calls[:12])
    assert all(t.extra["twice"] == pytest.approx(2 * t.score) for t in trials)
    again = random_search(objective, space, 12, np.random.default_rng(5))
    assert [t.config for t in again] == [t.config for t in trials]
    assert sorted(t.index for t in trials) == list(range(12))


def test_nan_scores_sort_last_and_table_has_one_row_per_trial():
    space = {"x": Uniform(0.0, 1.0)}
    trials = random_search(lambda c: math.nan if c["x"] > 0.5 else c["x"], space, 10,
                           np.random.default_rng(1))
    finite = [t for t in trials if not math.isnan(t.score)]
    assert trials[:len(finite)] == finite and 0 < len(finite) < 10
    table = trials_table(trials, {"x": ".3f"}, score_name="val")
    lines = table.splitlines()
    assert lines[0] == "| trial | x | val |" and len(lines) == 12
    assert f"{trials[0].config['x']:.3f}" in lines[2]


def test_bad_spaces_and_budgets():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="0 < low < high"):
        LogUniform(0.0, 1.0)
    with pytest.raises(ValueError, match="low < high"):
        Uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="at least one value"):
        Choice([])
    with pytest.raises(ValueError, match="empty"):
        sample_config({}, rng)
    with pytest.raises(ValueError, match="Uniform, LogUniform or Choice"):
        sample_config({"lr": 0.1}, rng)
    with pytest.raises(ValueError, match="num_trials"):
        random_search(lambda c: 0.0, {"x": Uniform(0, 1)}, 0, rng)


def test_compare_seeds_verdicts_follow_the_two_spread_rule():
    from lstm_ref.training.search import compare_seeds

    clear = compare_seeds([1.0, 1.1, 0.9], [2.0, 2.1, 1.9])
    assert clear.verdict == "lower" and math.isclose(clear.spread, 0.1)
    assert math.isclose(clear.difference, 1.0)
    assert compare_seeds([2.0, 2.1, 1.9], [1.0, 1.1, 0.9]).verdict == "higher"
    # a difference of 0.15 with a spread of 0.1 is under two spreads: no verdict
    tied = compare_seeds([1.0, 1.1, 0.9], [1.15, 1.25, 1.05])
    assert tied.verdict == "no clear difference"
    assert compare_seeds([1.0, 1.1, 0.9], [1.15, 1.25, 1.05], factor=1.0).verdict == "lower"
    with pytest.raises(ValueError, match="at least 2 finite"):
        compare_seeds([1.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2 finite"):
        compare_seeds([1.0, float("nan")], [2.0, 3.0])
