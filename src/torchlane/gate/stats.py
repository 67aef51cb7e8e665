"""Paired non-inferiority tests: is a drop beyond the tolerance credible, or noise?

Both tests look at the improvement d = s·(candidate − baseline) per example (s = +1 when higher is
better, −1 when lower is better) and give a two-sided confidence interval for its mean, at the
configured level. The gate fails only when the whole interval lies below −tolerance: the
"upper confidence bound below the margin" rule of non-inferiority trials, i.e. a one-sided test
at level (1 − confidence)/2.

Exact binomial tails: with scipy installed, the regularised incomplete beta function
(`betainc`, and `betaincinv` for the Clopper-Pearson bounds), which is exact up to float rounding
and constant-time in n. Without scipy, a hand-written sum that starts at the tail's largest term
and walks outwards with the pmf ratio (one lgamma per tail, a few thousand multiplications at a
million trials), stopping once the terms no longer change the sum. Both are tested against an
exact rational reference and against each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

_EPSILON = 1e-17


def _log_pmf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == n else -math.inf
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def _tail_up(k: int, n: int, p: float) -> float:
    """sum_{i >= k} pmf(i), for k above the mode (the terms only shrink as i grows)."""
    odds = p / (1.0 - p)
    total = term = 1.0
    for i in range(k, n):
        term *= (n - i) / (i + 1) * odds
        total += term
        if term < _EPSILON * total:
            break
    return math.exp(_log_pmf(k, n, p)) * total


def _tail_down(k: int, n: int, p: float) -> float:
    """sum_{i <= k} pmf(i), for k below the mode (the terms only shrink as i falls)."""
    odds = (1.0 - p) / p
    total = term = 1.0
    for i in range(k, 0, -1):
        term *= i / (n - i + 1) * odds
        total += term
        if term < _EPSILON * total:
            break
    return math.exp(_log_pmf(k, n, p)) * total


def _pure_sf(k: int, n: int, p: float) -> float:
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    mode = math.floor((n + 1) * p)
    if k > mode:
        return min(1.0, _tail_up(k, n, p))
    return max(0.0, 1.0 - _tail_down(k - 1, n, p))


def _pure_cdf(k: int, n: int, p: float) -> float:
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    mode = math.floor((n + 1) * p)
    if k < mode:
        return min(1.0, _tail_down(k, n, p))
    return max(0.0, 1.0 - _tail_up(k + 1, n, p))


def _scipy_special() -> Any:
    try:
        import scipy.special
    except ImportError:  # an optional speed-up: the pure sums are exact too
        return None
    return scipy.special


def binom_sf(k: int, n: int, p: float, *, pure: bool = False) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exact up to float rounding, for any n."""
    special = None if pure else _scipy_special()
    if special is None or k <= 0 or k > n or p <= 0.0 or p >= 1.0:
        return _pure_sf(k, n, p)
    return float(special.betainc(k, n - k + 1, p))  # I_p(k, n − k + 1) = P(X >= k)


def binom_cdf(k: int, n: int, p: float, *, pure: bool = False) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    special = None if pure else _scipy_special()
    if special is None or k < 0 or k >= n or p <= 0.0 or p >= 1.0:
        return _pure_cdf(k, n, p)
    return float(special.betainc(n - k, k + 1, 1.0 - p))  # I_{1−p}(n − k, k + 1) = P(X <= k)


def _bisect(func: Callable[[float], float], target: float) -> float:
    """The p in [0, 1] where an increasing func(p) crosses target."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if func(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson(
    k: int, n: int, confidence: float, *, pure: bool = False
) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion (k successes in n)."""
    alpha = 1.0 - confidence
    special = None if pure else _scipy_special()
    if special is not None:
        lower = 0.0 if k == 0 else float(special.betaincinv(k, n - k + 1, alpha / 2))
        upper = 1.0 if k == n else float(special.betaincinv(k + 1, n - k, 1 - alpha / 2))
        return lower, upper
    lower = 0.0 if k == 0 else _bisect(lambda p: _pure_sf(k, n, p), alpha / 2)
    upper = 1.0 if k == n else _bisect(lambda p: -_pure_cdf(k, n, p), -alpha / 2)
    return lower, upper


PairedTestName = Literal["mcnemar-exact", "paired-bootstrap"]


@dataclass(frozen=True, kw_only=True)
class PairedTest:
    test: PairedTestName
    n: int
    mean_improvement: float  # mean of d; in metric units, positive = better
    interval: tuple[float, float]  # two-sided interval for the mean of d
    p_value: float  # one-sided, H0: mean improvement >= −tolerance
    credible_drop: bool  # interval[1] < −tolerance
    detail: str


def mcnemar(
    baseline: Sequence[float],
    candidate: Sequence[float],
    tolerance: float,
    confidence: float,
    higher_is_better: bool = True,
) -> PairedTest:
    """Exact McNemar test with a margin, for correct (1) / incorrect (0) outcomes.

    Only discordant pairs carry information. Given m discordant pairs of which `losses` went
    wrong for the candidate, losses ~ Binomial(m, q) and the mean improvement is m(1 − 2q)/n.
    "No drop beyond δ" is q ≤ q0 = (1 + δn/m)/2; the p-value is P(X ≥ losses | m, q0), and the
    interval maps the exact Clopper-Pearson interval of q. With δ = 0 this is the classical
    one-sided exact McNemar test. Inference is conditional on the observed m.
    """
    n = len(baseline)
    sign = 1 if higher_is_better else -1
    wins = losses = 0
    for b, c in zip(baseline, candidate, strict=True):
        d = sign * (c - b)
        if d > 0:
            wins += 1
        elif d < 0:
            losses += 1
    return mcnemar_counts(wins, losses, n, tolerance, confidence)


def mcnemar_counts(
    wins: int, losses: int, n: int, tolerance: float, confidence: float
) -> PairedTest:
    """`mcnemar` from its sufficient statistics: examples the candidate got right and the
    baseline wrong (wins), the reverse (losses), and the number of examples n."""
    m = wins + losses
    mean = (wins - losses) / n if n else 0.0
    detail = f"{losses} worse and {wins} better of {n} examples"
    if m == 0:
        return PairedTest(
            test="mcnemar-exact",
            n=n,
            mean_improvement=0.0,
            interval=(0.0, 0.0),
            p_value=1.0,
            credible_drop=False,
            detail=detail + "; identical",
        )
    q_lo, q_hi = clopper_pearson(losses, m, confidence)
    interval = (m * (1 - 2 * q_hi) / n, m * (1 - 2 * q_lo) / n)
    q0 = (1 + tolerance * n / m) / 2
    p_value = 1.0 if q0 >= 1 else binom_sf(losses, m, q0)
    return PairedTest(
        test="mcnemar-exact",
        n=n,
        mean_improvement=mean,
        interval=interval,
        p_value=p_value,
        credible_drop=interval[1] < -tolerance,
        detail=detail,
    )


def paired_bootstrap(
    baseline: Sequence[float],
    candidate: Sequence[float],
    tolerance: float,
    confidence: float,
    *,
    resamples: int,
    seed: int,
    higher_is_better: bool = True,
) -> PairedTest:
    """Percentile bootstrap of the mean paired improvement (examples resampled together)."""
    import numpy as np

    sign = 1.0 if higher_is_better else -1.0
    d = sign * (np.asarray(candidate, dtype=np.float64) - np.asarray(baseline, dtype=np.float64))
    n = int(d.size)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(n, 1))  # bounded memory: about 16 MB of indices at a time
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = d[idx].mean(axis=1)
    alpha = 1.0 - confidence
    bounds: list[float] = np.quantile(means, [alpha / 2, 1 - alpha / 2]).tolist()
    low, high = float(bounds[0]), float(bounds[1])
    p_value = (1 + int(np.count_nonzero(means >= -tolerance))) / (resamples + 1)
    interval = (low, high)
    return PairedTest(
        test="paired-bootstrap",
        n=n,
        mean_improvement=float(d.mean()),
        interval=interval,
        p_value=p_value,
        credible_drop=interval[1] < -tolerance,
        detail=f"{resamples} paired resamples of {n} examples (seed {seed})",
    )


def replicate_test(
    baseline: Sequence[float],
    candidate: Sequence[float],
    observed: tuple[float, float],
    tolerance: float,
    confidence: float,
    *,
    higher_is_better: bool = True,
    detail: str,
) -> PairedTest:
    """Paired bootstrap from replicates that both evaluations computed on the same resamples.

    `baseline[b]` and `candidate[b]` are the metric on resample b (the same examples for both, by
    construction), and `observed` the metric on the whole set (baseline, candidate). The interval
    is the percentile interval of the replicate differences, the p-value the share of them that
    lies within the tolerance.
    """
    import numpy as np

    sign = 1.0 if higher_is_better else -1.0
    base = np.asarray(baseline, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    diffs = sign * (cand - base)
    resamples = int(diffs.size)
    alpha = 1.0 - confidence
    bounds: list[float] = np.quantile(diffs, [alpha / 2, 1 - alpha / 2]).tolist()
    p_value = (1 + int(np.count_nonzero(diffs >= -tolerance))) / (resamples + 1)
    interval = (float(bounds[0]), float(bounds[1]))
    return PairedTest(
        test="paired-bootstrap",
        n=resamples,
        mean_improvement=sign * (observed[1] - observed[0]),
        interval=interval,
        p_value=p_value,
        credible_drop=interval[1] < -tolerance,
        detail=detail,
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: rejecting those below α controls the chance of any
    false rejection among them at α, whatever their dependence."""
    k = len(p_values)
    order = sorted(range(k), key=lambda i: p_values[i])
    adjusted = [1.0] * k
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (k - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


# --- power ----------------------------------------------------------------------------------


def mcnemar_power(n: int, discordance: float, tolerance: float, drop: float, alpha: float) -> float:
    """P(the exact McNemar test with margin rejects) when the true drop is `drop` (fractions)."""
    m = max(1, round(discordance * n))
    rate = m / n
    q0 = (1 + tolerance / rate) / 2
    q = min(1.0, (1 + drop / rate) / 2)  # at most: every disagreeing example goes wrong
    if q0 >= 1:
        return 0.0
    lo, hi = 0, m + 1  # the smallest loss count whose p-value is below alpha
    while lo < hi:
        mid = (lo + hi) // 2
        if binom_sf(mid, m, q0) < alpha:
            hi = mid
        else:
            lo = mid + 1
    return binom_sf(lo, m, q) if lo <= m else 0.0


def detectable_drop(
    n: int,
    tolerance: float,
    alpha: float,
    power: float,
    *,
    discordance: float | None = None,
    spread: float | None = None,
) -> float | None:
    """The smallest true drop the test catches with probability `power`, at one-sided `alpha`.

    Right/wrong outcomes (`discordance`: the share of examples on which two models disagree): the
    exact McNemar power, with that many discordant pairs. Other metrics (`spread`: the standard
    deviation of the per-example difference, i.e. the standard error times sqrt(n)): the normal
    approximation δ + (z_{1−α} + z_power)·spread/√n. None: no drop the data can show is caught.
    """
    if discordance is not None:
        rate = max(discordance, 1.0 / n)

        def caught(drop: float) -> bool:
            return mcnemar_power(n, rate, tolerance, drop, alpha) >= power

        if tolerance >= rate or not caught(rate):
            return None
        lo, hi = tolerance, rate
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if caught(mid) else (mid, hi)
        return hi
    assert spread is not None
    z = NormalDist().inv_cdf
    return tolerance + (z(1 - alpha) + z(power)) * spread / math.sqrt(n)


def examples_needed(
    drop: float,
    tolerance: float,
    alpha: float,
    power: float,
    *,
    discordance: float | None = None,
    spread: float | None = None,
) -> int | None:
    """About how many examples make a true `drop` caught with probability `power`."""
    if drop <= tolerance:
        return None
    if discordance is None:
        assert spread is not None
        z = NormalDist().inv_cdf
        return max(1, math.ceil((spread * (z(1 - alpha) + z(power)) / (drop - tolerance)) ** 2))
    if drop > discordance:
        return None

    def enough(n: int) -> bool:
        found = detectable_drop(n, tolerance, alpha, power, discordance=discordance)
        return found is not None and found <= drop

    hi = 16
    while not enough(hi):
        hi *= 2
        if hi > 1 << 34:
            return None
    lo = hi // 2
    while hi - lo > max(1, hi // 200):  # "about": to half a percent
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi
