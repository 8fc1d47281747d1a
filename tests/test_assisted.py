"""Model-assisted counts (stats.assisted_count_interval): validity on synthetic populations
where the truth is known, including the hard case of a predictor that rarely errs."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

from talent_tracker.errors import UserError
from talent_tracker.figures import stats


def _population(N: int, K: int, error: float, rng) -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros(N, dtype=int)
    truth[rng.choice(N, K, replace=False)] = 1
    predicted = truth.copy()
    flips = rng.random(N) < error
    predicted[flips] = 1 - predicted[flips]
    return truth, predicted


def _simulate(N, K, error, n, trials, seed):
    rng = np.random.default_rng(seed)
    truth, predicted = _population(N, K, error, rng)
    covered, widths, plain = 0, [], []
    for _ in range(trials):
        idx = rng.choice(N, n, replace=False)
        estimate, low, high = stats.assisted_count_interval(truth[idx], predicted[idx], predicted)
        assert low <= estimate <= high
        covered += low <= K <= high
        widths.append(high - low)
        x = int(truth[idx].sum())
        sample_low, sample_high = stats.count_interval(x, n, N)
        plain.append(sample_high - sample_low)
    return covered / trials, float(np.median(widths) / np.median(plain))


@pytest.mark.fast
@pytest.mark.parametrize("error", [0.0, 0.003, 0.02])
def test_valid_and_narrow_with_a_very_good_predictor_and_n_100(error):
    # the case a normal (PPI) interval fails: hardly any disagreement in a small sample
    coverage, ratio = _simulate(5000, 1500, error, 100, 400, seed=int(error * 1000) + 1)
    assert coverage >= 0.95
    assert ratio <= 0.75


@pytest.mark.fast
def test_valid_with_a_bad_predictor_and_never_much_wider():
    # a predictor right 60% of the time: no help, but no harm to coverage
    coverage, ratio = _simulate(4000, 800, 0.4, 100, 300, seed=7)
    assert coverage >= 0.95
    assert ratio <= 1.6


@pytest.mark.fast
def test_valid_for_a_rare_trait():
    coverage, _ = _simulate(3000, 30, 0.01, 200, 400, seed=11)
    assert coverage >= 0.95


def _exact_coverage(N: int, n: int, N1: int, missed: int, wrong: int) -> float:
    """The interval's coverage over every possible sample, each weighted by its probability:
    N1 predicted positives of whom `wrong` lack the trait, and `missed` among the predicted
    negatives who have it."""
    cells = (N1 - wrong, wrong, missed, N - N1 - missed)  # truth/prediction: 1/1, 0/1, 1/0, 0/0
    truth_of, prediction_of = (1, 0, 1, 0), (1, 1, 0, 0)
    K = N1 - wrong + missed
    population = [1] * N1 + [0] * (N - N1)
    coverage = 0.0
    for counts in itertools.product(*(range(min(cell, n) + 1) for cell in cells)):
        if sum(counts) != n:
            continue
        chance = np.prod([comb(cell, k) for cell, k in zip(cells, counts)]) / comb(N, n)
        labels = [t for t, k in zip(truth_of, counts) for _ in range(k)]
        predicted = [p for p, k in zip(prediction_of, counts) for _ in range(k)]
        _, low, high = stats.assisted_count_interval(labels, predicted, population)
        coverage += chance * (low <= K <= high)
    return coverage


@pytest.mark.fast
@pytest.mark.parametrize(("N", "n", "N1", "missed", "wrong"), [
    (30, 8, 12, 0, 0), (30, 8, 12, 1, 0), (30, 8, 29, 0, 3), (30, 8, 2, 9, 1),
    (40, 12, 20, 2, 2), (40, 12, 5, 0, 5), (40, 12, 35, 5, 0), (40, 12, 0, 7, 0),
    (60, 20, 25, 1, 1), (60, 20, 30, 12, 10), (60, 20, 58, 2, 0), (60, 20, 10, 3, 9),
])
def test_exact_coverage_over_every_possible_sample(N, n, N1, missed, wrong):
    # not a simulation: every sample composition, so a coverage below the level is a defect
    assert _exact_coverage(N, n, N1, missed, wrong) >= 0.95


@pytest.mark.fast
def test_perfect_predictor_estimate_is_the_predicted_count():
    predicted = np.array([1] * 300 + [0] * 700)
    idx = np.arange(0, 1000, 10)
    estimate, low, high = stats.assisted_count_interval(predicted[idx], predicted[idx], predicted)
    assert estimate == 300
    # no errors in 100 draws still leaves room for a few hundred unseen ones... but not all
    assert low < 300 < high and high - low < 150


@pytest.mark.fast
def test_whole_population_is_the_count():
    truth = np.array([1, 0, 1, 1, 0])
    predicted = np.array([1, 1, 0, 1, 0])
    assert stats.assisted_count_interval(truth, predicted, predicted) == (3.0, 3.0, 3.0)


@pytest.mark.fast
@pytest.mark.parametrize("labels, predicted, everyone, message", [
    ([1, 0], [1], [1, 0, 1], "same length"),
    ([1, 2], [1, 0], [1, 0, 1], "must be 0 or 1"),
    ([], [], [1, 0], "sample of 0"),
    ([1, 1], [1, 1], [1, 0, 0], "not among the population"),
])
def test_impossible_requests(labels, predicted, everyone, message):
    with pytest.raises(UserError, match=message):
        stats.assisted_count_interval(labels, predicted, everyone)


@pytest.mark.fast
def test_too_uncertain_follows_the_nchs_rule():
    assert stats.too_uncertain(20, 0.5, 0.3, 0.7).startswith("sample of 20")
    assert "wide" in stats.too_uncertain(100, 0.5, 0.3, 0.65)
    assert "130%" in stats.too_uncertain(400, 0.03, 0.005, 0.075)
    assert stats.too_uncertain(400, 0.4, 0.35, 0.45) is None
    assert stats.too_uncertain(None, 0.4, 0.4, 0.4) is None  # exact counts


@pytest.mark.fast
def test_a_large_sample_stays_in_bounded_memory():
    # the tail regions are found a block of rows at a time: no (n0+1)×(n1+1) array for n = 8,000
    import tracemalloc

    rng = np.random.default_rng(4)
    truth, predicted = _population(16_000, 4_800, 0.05, rng)
    idx = rng.choice(16_000, 8_000, replace=False)
    tracemalloc.start()
    try:
        estimate, low, high = stats.assisted_count_interval(truth[idx], predicted[idx], predicted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert low <= estimate <= high and low <= 4_800 <= high and high - low < 200
    assert peak < 150 * 2**20
