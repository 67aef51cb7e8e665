"""The merge gate: does the candidate stay within tolerance of its baseline, credibly?

Per metric, in this order: a missing or non-finite value fails (a NaN never passes); a floor or
ceiling is checked on the candidate's value; then the change from the baseline is judged against
the tolerated drop, with a paired test when both sides carry per-example results over the same
examples, and by the point values otherwise (said so in the reason).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from torchlane.gate.baseline import BaselineChoice
from torchlane.gate.settings import Direction, GateConfig, MetricRule
from torchlane.gate.stats import PairedTest, PairedTestName, mcnemar, paired_bootstrap
from torchlane.metrics.record import EvaluationRecord, PerExample

# Names that read as "lower is better" when a metric has no rule in the configuration.
_LOWER_IS_BETTER_WORDS = (
    "loss",
    "error",
    "err",
    "mse",
    "mae",
    "rmse",
    "perplexity",
    "wer",
    "cer",
    "latency",
)


# How a metric's change was judged: a paired test, the point values, a floor or ceiling, or not.
JudgementTest = PairedTestName | Literal["point", "threshold", "none"]
Judgement = Literal["pass", "fail", "not judged"]
GateOutcome = Literal[
    "pass",
    "fail",
    "no baseline",
    "first release",  # a release/hotfix with no older release tag: nothing to compare, passes
    "baseline without records",
    "candidate without records",
    "mismatched data",
    "untrusted baseline",  # records exist, none signed by CI where signing is required (trust.py)
]


@dataclass(frozen=True, kw_only=True)
class MetricVerdict:
    metric: str
    direction: Direction
    baseline: float | None
    candidate: float | None
    change: float | None  # candidate − baseline
    relative_change: float | None
    tolerance: float | None  # allowed drop, in metric units
    interval: tuple[float, float] | None  # for candidate − baseline, at the gate's confidence
    test: JudgementTest
    p_value: float | None
    verdict: Judgement
    reason: str


@dataclass(frozen=True, kw_only=True)
class GateDecision:
    passed: bool
    outcome: GateOutcome
    candidate: str
    baseline: BaselineChoice | None
    confidence: float
    metrics: list[MetricVerdict] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # why the gate could not judge, notes
    hint: str | None = None


def default_rule(name: str) -> MetricRule:
    words = name.lower().replace("-", "_").split("_")
    lower = any(w in _LOWER_IS_BETTER_WORDS for w in words)
    # Unruled metrics that appear on one side only are reported, not failed.
    return MetricRule(direction="lower" if lower else "higher", required=False)


def per_example_for(record: EvaluationRecord, metric: str) -> PerExample | None:
    """The record's per-example results if they make up `metric` (named, or mean equals value)."""
    pe = record.per_example
    if pe is None or not pe.values:
        return None
    if pe.metric is not None:
        return pe if pe.metric == metric else None
    value = record.metrics.get(metric)
    if value is None or not math.isfinite(value):
        return None
    mean = math.fsum(pe.values) / len(pe.values)
    return pe if math.isclose(mean, value, rel_tol=1e-5, abs_tol=1e-6) else None


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _verdict(
    name: str,
    rule: MetricRule,
    base: float | None,
    cand: float | None,
    *,
    verdict: Judgement,
    reason: str,
    tolerance: float | None = None,
    interval: tuple[float, float] | None = None,
    test: JudgementTest = "none",
    p_value: float | None = None,
) -> MetricVerdict:
    change = relative = None
    if base is not None and cand is not None and math.isfinite(base) and math.isfinite(cand):
        change = cand - base
        relative = change / abs(base) if base != 0 else None
    return MetricVerdict(
        metric=name,
        direction=rule.direction,
        baseline=base,
        candidate=cand,
        change=change,
        relative_change=relative,
        tolerance=tolerance,
        interval=interval,
        test=test,
        p_value=p_value,
        verdict=verdict,
        reason=reason,
    )


def _threshold_problem(rule: MetricRule, value: float) -> str | None:
    if rule.floor is not None and value < rule.floor:
        return f"{_fmt(value)} is below the floor {_fmt(rule.floor)}"
    if rule.ceiling is not None and value > rule.ceiling:
        return f"{_fmt(value)} is above the ceiling {_fmt(rule.ceiling)}"
    return None


def _paired(
    rule: MetricRule, pair: tuple[PerExample, PerExample], tolerance: float, gate: GateConfig
) -> PairedTest:
    base, cand = pair
    binary = base.kind == cand.kind == "correct"
    if binary:
        return mcnemar(base.values, cand.values, tolerance, gate.confidence, rule.higher_is_better)
    return paired_bootstrap(
        base.values, cand.values, tolerance, gate.confidence,
        resamples=gate.bootstrap_resamples, seed=gate.seed, higher_is_better=rule.higher_is_better,
    )  # fmt: skip


def _judge_paired(
    name: str,
    rule: MetricRule,
    values: tuple[float, float],
    pair: tuple[PerExample, PerExample],
    gate: GateConfig,
    *,
    how: str,
) -> MetricVerdict:
    base, cand = values
    tolerance = rule.tolerance(base)
    sign = 1.0 if rule.higher_is_better else -1.0
    worse = "drop" if rule.higher_is_better else "rise"
    allowed = f"the allowed {worse} {_fmt(tolerance)}"
    result = _paired(rule, pair, tolerance, gate)
    lo, hi = result.interval
    interval = (lo, hi) if sign > 0 else (-hi, -lo)  # back to candidate − baseline
    level = f"{gate.confidence:.0%}"
    edge, past, ends = (
        (interval[1], "below", "ends") if sign > 0 else (interval[0], "above", "starts")
    )
    margin = _fmt(-sign * tolerance)
    span = f"the {level} interval of candidate − baseline"
    if result.credible_drop:
        reason = (
            f"credible {worse} beyond {allowed}: {span} {ends} at {_fmt(edge)}, {past} {margin}"
        )
    elif result.mean_improvement < -tolerance:
        reason = (
            f"the observed {worse} {_fmt(-result.mean_improvement)} exceeds {allowed}, but is "
            f"not credible: {span} reaches {_fmt(edge)}, not {past} {margin}"
        )
    else:
        reason = f"within {allowed}"
    reason += f" ({result.detail}){how}"
    return _verdict(
        name, rule, base, cand, tolerance=tolerance, interval=interval, test=result.test,
        p_value=result.p_value, verdict="fail" if result.credible_drop else "pass", reason=reason,
    )  # fmt: skip


def judge_metric(
    name: str,
    rule: MetricRule,
    baseline: EvaluationRecord,
    candidate: EvaluationRecord,
    gate: GateConfig,
    *,
    ruled: bool = True,
) -> MetricVerdict:
    base, cand = baseline.metrics.get(name), candidate.metrics.get(name)
    how = "" if ruled else f" (no rule configured; {rule.direction} is assumed better)"
    for side, value in (("candidate", cand), ("baseline", base)):
        if value is None:
            if not rule.required:
                return _verdict(
                    name,
                    rule,
                    base,
                    cand,
                    verdict="not judged",
                    reason=f"the {side} has no value; not required",
                )
            return _verdict(
                name,
                rule,
                base,
                cand,
                verdict="fail",
                reason=f"the {side} has no value for {name}, which is required",
            )
        if not math.isfinite(value):
            return _verdict(
                name,
                rule,
                base,
                cand,
                verdict="fail",
                reason=f"the {side}'s value is {value}, not a number the gate can judge",
            )
    assert base is not None
    assert cand is not None
    problem = _threshold_problem(rule, cand)
    if problem is not None:
        return _verdict(name, rule, base, cand, test="threshold", verdict="fail", reason=problem)
    tolerance = rule.tolerance(base)
    sign = 1.0 if rule.higher_is_better else -1.0
    pair = (per_example_for(baseline, name), per_example_for(candidate, name))
    worse = "drop" if rule.higher_is_better else "rise"
    allowed = f"the allowed {worse} {_fmt(tolerance)}"
    if (
        pair[0] is not None
        and pair[1] is not None
        and pair[0].ids_fingerprint == pair[1].ids_fingerprint
        and len(pair[0].values) == len(pair[1].values)
    ):
        return _judge_paired(name, rule, (base, cand), (pair[0], pair[1]), gate, how=how)
    why_point = (
        "no per-example results on both sides"
        if pair[0] is None or pair[1] is None
        else "the per-example results cover different examples"
    )
    improvement = sign * (cand - base)
    failed = improvement < -tolerance - 1e-12
    reason = (
        f"{worse} {_fmt(-improvement)} exceeds {allowed}" if failed else f"within {allowed}"
    ) + f" (point comparison: {why_point}){how}"
    return _verdict(
        name, rule, base, cand, tolerance=tolerance, test="point",
        verdict="fail" if failed else "pass", reason=reason,
    )  # fmt: skip
