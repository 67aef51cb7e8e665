"""Paired non-inferiority tests: is a drop beyond the tolerance credible, or noise?

Both tests look at the improvement d = s·(candidate − baseline) per example (s = +1 when higher is
better, −1 when lower is better) and give a two-sided confidence interval for its mean, at the
configured level. The gate fails only when the whole interval lies below −tolerance: the
"upper confidence bound below the margin" rule of non-inferiority trials, i.e. a one-sided test
at level (1 − confidence)/2.

Exact binomial tails are written by hand (log-space sums with early stopping) rather than taken
from scipy: scipy is not a torchlane dependency, and the sums are a few lines. The tests check
them against scipy.stats.binomtest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

_NEGLIGIBLE = math.log(1e-17)


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


def _log_sum(terms: list[float]) -> float:
    top = max(terms)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(t - top) for t in terms))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exact up to float rounding, for any n."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    mode = math.floor((n + 1) * p)
    terms: list[float] = []
    for i in range(k, n + 1):
        term = _log_pmf(i, n, p)
        terms.append(term)
        # Past the mode the terms only shrink: stop once they no longer change the sum.
        if i > mode and term - max(terms) < _NEGLIGIBLE:
            break
    return min(1.0, math.exp(_log_sum(terms)))


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k): the upper tail of the mirrored variable n − X."""
    return binom_sf(n - k, n, 1.0 - p)


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


def clopper_pearson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion (k successes in n)."""
    alpha = 1.0 - confidence
    lower = 0.0 if k == 0 else _bisect(lambda p: binom_sf(k, n, p), alpha / 2)
    upper = 1.0 if k == n else _bisect(lambda p: -binom_cdf(k, n, p), -alpha / 2)
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
