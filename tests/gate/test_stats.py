from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlane.gate.stats import (
    binom_cdf,
    binom_sf,
    clopper_pearson,
    mcnemar,
    paired_bootstrap,
)

scipy_stats = pytest.importorskip("scipy.stats")


@given(n=st.integers(1, 400), data=st.data(), p=st.floats(0.001, 0.999))
@settings(max_examples=150, deadline=None)
def test_binomial_tails_match_scipy(n: int, data: st.DataObject, p: float) -> None:
    k = data.draw(st.integers(0, n))
    assert math.isclose(
        binom_sf(k, n, p), scipy_stats.binom.sf(k - 1, n, p), rel_tol=1e-7, abs_tol=1e-300
    )
    assert math.isclose(
        binom_cdf(k, n, p), scipy_stats.binom.cdf(k, n, p), rel_tol=1e-7, abs_tol=1e-300
    )


def test_large_n_tail_is_finite_and_matches_scipy() -> None:
    # 200,000 trials: factorials overflow floats; log-space sums must not.
    assert math.isclose(
        binom_sf(100_500, 200_000, 0.5), scipy_stats.binom.sf(100_499, 200_000, 0.5), rel_tol=1e-7
    )


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (60, 100), (7, 400)])
def test_clopper_pearson_matches_scipy(k: int, n: int) -> None:
    expected = scipy_stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    lower, upper = clopper_pearson(k, n, 0.95)
    assert lower == pytest.approx(expected.low, abs=1e-9)
    assert upper == pytest.approx(expected.high, abs=1e-9)


def _pairs(losses: int, wins: int, same: int) -> tuple[list[float], list[float]]:
    baseline = [1.0] * losses + [0.0] * wins + [1.0] * same
    candidate = [0.0] * losses + [1.0] * wins + [1.0] * same
    return baseline, candidate


@pytest.mark.parametrize(("losses", "wins"), [(12, 3), (30, 30), (5, 0), (40, 21)])
def test_mcnemar_without_margin_is_the_exact_one_sided_test(losses: int, wins: int) -> None:
    baseline, candidate = _pairs(losses, wins, 100)
    result = mcnemar(baseline, candidate, tolerance=0.0, confidence=0.95)
    expected = scipy_stats.binomtest(losses, losses + wins, 0.5, alternative="greater").pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.mean_improvement == pytest.approx((wins - losses) / (losses + wins + 100))


def test_mcnemar_hand_computed_value() -> None:
    # 5 losses, 0 wins: P(X >= 5 | 5, 1/2) = 1/32.
    baseline, candidate = _pairs(5, 0, 20)
    assert mcnemar(baseline, candidate, 0.0, 0.95).p_value == pytest.approx(1 / 32)


def test_mcnemar_margin_shifts_the_null_and_matches_the_interval() -> None:
    baseline, candidate = _pairs(40, 10, 950)  # mean improvement −0.03 on 1,000 examples
    tight = mcnemar(baseline, candidate, tolerance=0.005, confidence=0.95)
    loose = mcnemar(baseline, candidate, tolerance=0.05, confidence=0.95)
    q0 = (1 + 0.005 * 1000 / 50) / 2
    assert tight.p_value == pytest.approx(
        scipy_stats.binomtest(40, 50, q0, alternative="greater").pvalue
    )
    assert tight.credible_drop
    assert tight.p_value < 0.025
    assert not loose.credible_drop
    assert loose.p_value == 1.0  # q0 >= 1: a 5-point drop is impossible with 50 discordant pairs
    assert tight.interval[0] < -0.03 < tight.interval[1] < -0.005


def test_identical_outcomes_have_no_discordant_pairs() -> None:
    values = [1.0, 0.0, 1.0]
    result = mcnemar(values, values, 0.0, 0.95)
    assert (result.p_value, result.interval, result.credible_drop) == (1.0, (0.0, 0.0), False)


def test_bootstrap_is_seeded_and_centred_on_the_mean_difference() -> None:
    baseline = [0.1 * (i % 7) for i in range(300)]
    candidate = [b - 0.05 for b in baseline]
    first = paired_bootstrap(baseline, candidate, 0.0, 0.95, resamples=500, seed=3)
    again = paired_bootstrap(baseline, candidate, 0.0, 0.95, resamples=500, seed=3)
    assert first == again
    # Every example lost exactly 0.05: the interval collapses onto it, and the drop is credible.
    assert first.interval == pytest.approx((-0.05, -0.05))
    assert first.credible_drop
    lower_is_better = paired_bootstrap(
        baseline, candidate, 0.0, 0.95, resamples=500, seed=3, higher_is_better=False
    )
    assert lower_is_better.mean_improvement == pytest.approx(0.05)
    assert not lower_is_better.credible_drop
