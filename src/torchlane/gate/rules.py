"""The merge gate: does the candidate stay within tolerance of its baseline, credibly?

Per metric, in this order: a missing or non-finite value fails (a NaN never passes); a metric
whose direction is neither configured nor known from its name is an explicit "unknown direction"
outcome; a floor or ceiling is checked on the candidate's value; then the change from the baseline
is judged against the tolerated drop with a paired test: exact McNemar when both sides carry
right/wrong results per example for it (in fraction or percent), a paired bootstrap of per-example
scores, or of the replicates both evaluations computed on the same resamples. NaN anywhere in that
evidence fails. A metric no paired test covers is "unpaired" (not judged) unless the rule opts in
to a point comparison. The paired p-values are then adjusted together (Holm), so the chance that
a retraining differing only in its seed is blocked stays at the configured level for the whole
gate, however many metrics are gated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from torchlane.gate.baseline import BaselineChoice
from torchlane.gate.settings import Direction, GateConfig, MetricRule
from torchlane.gate.stats import (
    PairedTest,
    PairedTestName,
    holm,
    mcnemar,
    paired_bootstrap,
    replicate_test,
)
from torchlane.metrics.record import EvaluationRecord, PerExample

# Names that read as "lower is better" / "higher is better", matched on the tokens of a metric
# name split on / _ - . spaces and camelCase, and on adjacent pairs joined (cross_entropy).
LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "losses",
        "logloss",
        "nll",
        "crossentropy",
        "xent",
        "ce",
        "ppl",
        "perplexity",
        "ece",
        "mce",
        "brier",
        "mape",
        "smape",
        "mae",
        "mse",
        "rmse",
        "msle",
        "rmsle",
        "mad",
        "fid",
        "kid",
        "wer",
        "cer",
        "error",
        "errors",
        "err",
        "eer",
        "fpr",
        "fnr",
        "latency",
        "duration",
        "runtime",
        "seconds",
        "ms",
        "regret",
        "distance",
        "hamming",
        "bpc",
        "bpd",
        "bpb",
        "divergence",
        "kl",
    }
)
HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "acc",
        "top1",
        "top5",
        "topk",
        "f1",
        "fscore",
        "f1score",
        "precision",
        "recall",
        "auc",
        "auroc",
        "auprc",
        "roc",
        "ap",
        "map",
        "bleu",
        "rouge",
        "rouge1",
        "rouge2",
        "rougel",
        "meteor",
        "chrf",
        "iou",
        "miou",
        "dice",
        "r2",
        "mcc",
        "kappa",
        "sensitivity",
        "specificity",
        "tpr",
        "tnr",
        "ndcg",
        "mrr",
        "hits",
        "hitrate",
        "psnr",
        "ssim",
        "spearman",
        "pearson",
        "correlation",
        "exactmatch",
        "em",
        "reward",
        "throughput",
        "success",
    }
)

# How a metric's change was judged: a paired test, the point values, a floor or ceiling, or not.
JudgementTest = PairedTestName | Literal["point", "threshold", "none"]
Judgement = Literal["pass", "fail", "not judged", "unpaired", "unknown direction"]
GateOutcome = Literal[
    "pass",
    "fail",
    "unknown direction",  # a metric's direction is neither configured nor known: not a pass
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
    direction: Direction | None
    baseline: float | None
    candidate: float | None
    change: float | None  # candidate − baseline
    relative_change: float | None
    tolerance: float | None  # allowed drop, in metric units
    interval: tuple[float, float] | None  # for candidate − baseline, at the gate's confidence
    test: JudgementTest
    p_value: float | None  # one-sided, of this metric alone
    verdict: Judgement
    reason: str
    adjusted_p_value: float | None = None  # Holm-adjusted over the gate's paired tests
    # The evidence, for the power table: examples, share of examples the two models disagree on
    # (right/wrong results), spread of the per-example difference (others), scale (100: percent).
    n: int | None = None
    discordance: float | None = None
    spread: float | None = None
    scale: float | None = None
    detail: str = ""


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
    # Per paired metric: the smallest drop caught 80 % / 95 % of the time (gate/power.py).
    power: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. tolerance below the detectable drop


def name_tokens(name: str) -> list[str]:
    """`val/loss`, `eval.Loss`, `valLoss`, `val-NLL`, `top1Acc` → lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [t.lower() for t in re.split(r"[^A-Za-z0-9]+", spaced) if t]


def direction_from_name(name: str) -> Direction | None:
    """Which way is better, from well-known metric names; None when the name does not say.

    When both kinds of words appear (`top1_err`, `accuracy_loss`), the last one decides: the
    head noun of an English compound comes last.
    """
    tokens = name_tokens(name)
    found: Direction | None = None
    for index, token in enumerate(tokens):
        for word in (token, tokens[index - 1] + token if index else token):
            if word in LOWER_IS_BETTER:
                found = "lower"
            elif word in HIGHER_IS_BETTER:
                found = "higher"
    return found


def default_rule(name: str) -> MetricRule:
    # Unruled metrics that appear on one side only are reported, not failed.
    return MetricRule(direction=direction_from_name(name), required=False)


def per_example_for(record: EvaluationRecord, metric: str) -> tuple[PerExample, float] | None:
    """The record's per-example results if they make up `metric` (named, or their mean equals
    its value), with the scale: 1, or 100 when the metric is recorded in percent."""
    pe = record.per_example
    value = record.metrics.get(metric)
    if pe is None or not pe.values or value is None or not math.isfinite(value):
        return None
    if pe.metric is not None and pe.metric != metric:
        return None
    # NaN among them must not hide them (they fail later, as evidence): match on the rest.
    finite = [v for v in pe.values if math.isfinite(v)]
    mean = math.fsum(finite) / len(finite) if finite else math.nan
    for scale in (1.0, 100.0):
        if math.isclose(mean * scale, value, rel_tol=1e-5, abs_tol=1e-6 * scale):
            return pe, scale
    return (pe, 1.0) if pe.metric == metric else None


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _verdict(
    name: str,
    direction: Direction | None,
    base: float | None,
    cand: float | None,
    *,
    verdict: Judgement,
    reason: str,
    tolerance: float | None = None,
    interval: tuple[float, float] | None = None,
    test: JudgementTest = "none",
    p_value: float | None = None,
    n: int | None = None,
    discordance: float | None = None,
    spread: float | None = None,
    scale: float | None = None,
    detail: str = "",
) -> MetricVerdict:
    change = relative = None
    if base is not None and cand is not None and math.isfinite(base) and math.isfinite(cand):
        change = cand - base
        relative = change / abs(base) if base != 0 else None
    return MetricVerdict(
        metric=name, direction=direction, baseline=base, candidate=cand, change=change,
        relative_change=relative, tolerance=tolerance, interval=interval, test=test,
        p_value=p_value, verdict=verdict, reason=reason, n=n, discordance=discordance,
        spread=spread, scale=scale, detail=detail,
    )  # fmt: skip


def _threshold_problem(rule: MetricRule, value: float) -> str | None:
    if rule.floor is not None and value < rule.floor:
        return f"{_fmt(value)} is below the floor {_fmt(rule.floor)}"
    if rule.ceiling is not None and value > rule.ceiling:
        return f"{_fmt(value)} is above the ceiling {_fmt(rule.ceiling)}"
    return None


def _nonfinite(values: tuple[float, ...]) -> int:
    return sum(1 for v in values if not math.isfinite(v))


@dataclass(frozen=True)
class _Evidence:
    result: PairedTest
    scale: float  # metric units per unit of the test (100: percent metric, 0/1 outcomes)
    n: int
    discordance: float | None
    spread: float | None


def _pair_per_example(
    base: PerExample, cand: PerExample, *, scale: float, tolerance: float, higher: bool,
    gate: GateConfig,
) -> _Evidence:  # fmt: skip
    n = len(base.values)
    if base.kind == cand.kind == "correct":
        result = mcnemar(base.values, cand.values, tolerance / scale, gate.confidence, higher)
        disagree = sum(1 for b, c in zip(base.values, cand.values, strict=True) if b != c)
        return _Evidence(result, scale, n, disagree / n, None)
    result = paired_bootstrap(
        base.values, cand.values, tolerance / scale, gate.confidence,
        resamples=gate.bootstrap_resamples, seed=gate.seed, higher_is_better=higher,
    )  # fmt: skip
    diffs = [c - b for b, c in zip(base.values, cand.values, strict=True)]
    mean = math.fsum(diffs) / n
    spread = math.sqrt(math.fsum((d - mean) ** 2 for d in diffs) / max(1, n - 1)) * scale
    return _Evidence(result, scale, n, None, spread)


def _evidence(
    name: str,
    baseline: EvaluationRecord,
    candidate: EvaluationRecord,
    *,
    values: tuple[float, float],
    tolerance: float,
    higher: bool,
    gate: GateConfig,
) -> _Evidence | str:
    """The paired test for this metric, or why there is none (a sentence)."""
    b_side, c_side = per_example_for(baseline, name), per_example_for(candidate, name)
    b_pe, c_pe = baseline.per_example, candidate.per_example
    if b_side is not None and c_side is not None:
        (base, b_scale), (cand, c_scale) = b_side, c_side
        if base.ids_fingerprint == cand.ids_fingerprint and len(base.values) == len(cand.values):
            if b_scale != c_scale:
                return "one side records it in percent, the other as a fraction"
            bad = _nonfinite(base.values) + _nonfinite(cand.values)
            if bad:
                return f"NaN:{bad} of the per-example results are NaN or infinite"
            return _pair_per_example(base, cand, scale=b_scale, tolerance=tolerance, higher=higher,
                                     gate=gate)  # fmt: skip
    b_rep, c_rep = baseline.replicates, candidate.replicates
    if b_rep is not None and c_rep is not None and name in b_rep.metrics and name in c_rep.metrics:
        if b_rep.pairs_with(c_rep):
            b_vals, c_vals = b_rep.metrics[name], c_rep.metrics[name]
            bad = _nonfinite(b_vals) + _nonfinite(c_vals)
            if bad:
                return f"NaN:{bad} of the bootstrap replicates are NaN or infinite"
            result = replicate_test(
                b_vals, c_vals, values, tolerance, gate.confidence, higher_is_better=higher,
                detail=f"{b_rep.count} shared paired resamples of {b_rep.n} examples",
            )  # fmt: skip
            diffs = [c - b for b, c in zip(b_vals, c_vals, strict=True)]
            mean = math.fsum(diffs) / len(diffs)
            se = math.sqrt(math.fsum((d - mean) ** 2 for d in diffs) / max(1, len(diffs) - 1))
            return _Evidence(result, 1.0, b_rep.n, None, se * math.sqrt(b_rep.n))
        return "their bootstrap replicates were drawn over different examples or resamples"
    if b_pe is not None and c_pe is not None:
        if b_pe.ids_fingerprint != c_pe.ids_fingerprint:
            return "the per-example results cover different examples"
        return (
            "both sides have per-example results, but they make up another metric, and "
            "neither side kept bootstrap replicates of this one"
        )
    missing = [s for s, r in (("baseline", baseline), ("candidate", candidate))
               if r.per_example is None and (r.replicates is None or name not in r.replicates.metrics)]  # fmt: skip
    if missing:
        return f"the {' and the '.join(missing)} kept no per-example results or replicates of it"
    return "only one side kept bootstrap replicates of it"


def judge_metric(
    name: str,
    rule: MetricRule,
    baseline: EvaluationRecord,
    candidate: EvaluationRecord,
    gate: GateConfig,
    *,
    ruled: bool = True,
) -> MetricVerdict:
    """One metric's verdict; a paired test's verdict is final only after `adjust` (Holm)."""
    base, cand = baseline.metrics.get(name), candidate.metrics.get(name)
    direction = rule.direction or direction_from_name(name)
    for side, value in (("candidate", cand), ("baseline", base)):
        if value is None:
            if not rule.required:
                return _verdict(name, direction, base, cand, verdict="not judged",
                                reason=f"the {side} has no value; not required")  # fmt: skip
            return _verdict(name, direction, base, cand, verdict="fail",
                            reason=f"the {side} has no value for {name}, which is required")  # fmt: skip
        if not math.isfinite(value):
            return _verdict(name, direction, base, cand, verdict="fail",
                            reason=f"the {side}'s value is {value}, not a number the gate can judge")  # fmt: skip
    assert base is not None
    assert cand is not None
    problem = _threshold_problem(rule, cand)
    if problem is not None:
        return _verdict(name, direction, base, cand, test="threshold", verdict="fail",
                        reason=problem)  # fmt: skip
    if direction is None:
        return _verdict(
            name, None, base, cand, verdict="unknown direction",
            reason=f"which way is better for '{name}' is neither configured nor known from its "
            "name; the gate does not guess",
        )  # fmt: skip
    higher = direction == "higher"
    how = "" if ruled or rule.direction else f" (no rule configured; {direction} is better)"
    tolerance = rule.tolerance(base)
    worse = "drop" if higher else "rise"
    allowed = f"the allowed {worse} {_fmt(tolerance)}"
    evidence = _evidence(name, baseline, candidate, values=(base, cand), tolerance=tolerance,
                         higher=higher, gate=gate)  # fmt: skip
    if isinstance(evidence, _Evidence):
        r, s = evidence.result, evidence.scale
        lo, hi = r.interval[0] * s, r.interval[1] * s
        interval = (lo, hi) if higher else (-hi, -lo)  # back to candidate − baseline
        return _verdict(
            name, direction, base, cand, tolerance=tolerance, interval=interval, test=r.test,
            p_value=r.p_value, verdict="pass", reason="", n=evidence.n,
            discordance=evidence.discordance, spread=evidence.spread, scale=s,
            detail=r.detail + how,
        )  # fmt: skip
    if evidence.startswith("NaN:"):
        return _verdict(name, direction, base, cand, tolerance=tolerance, verdict="fail",
                        reason=evidence.partition(":")[2] + "; NaN in the evidence fails")  # fmt: skip
    sign = 1.0 if higher else -1.0
    improvement = sign * (cand - base)
    if not rule.gate_unpaired:
        return _verdict(
            name, direction, base, cand, tolerance=tolerance, verdict="unpaired",
            reason=f"no paired test: {evidence}; not gated (set gate_unpaired = true in its rule "
            f"to judge the point values, or keep replicates: [tool.torchlane.eval] resamples){how}",
        )  # fmt: skip
    failed = improvement < -tolerance - 1e-12
    reason = (
        f"{worse} {_fmt(-improvement)} exceeds {allowed}" if failed else f"within {allowed}"
    ) + f" (point comparison, gate_unpaired = true: {evidence}){how}"
    return _verdict(name, direction, base, cand, tolerance=tolerance, test="point",
                    verdict="fail" if failed else "pass", reason=reason)  # fmt: skip


def _paired_reason(v: MetricVerdict, alpha: float, k: int, level: str) -> tuple[bool, str]:
    assert v.interval is not None
    assert v.tolerance is not None
    assert v.p_value is not None
    assert v.adjusted_p_value is not None
    assert v.change is not None
    higher = v.direction == "higher"
    worse = "drop" if higher else "rise"
    allowed = f"the allowed {worse} {_fmt(v.tolerance)}"
    edge, past, ends = (v.interval[1], "below", "ends") if higher else (v.interval[0], "above", "starts")  # fmt: skip
    margin = _fmt(-v.tolerance if higher else v.tolerance)
    span = f"the {level} interval of candidate − baseline"
    observed = v.change if higher else -v.change
    together = (
        f"; Holm-adjusted over {k} paired metrics p = {v.adjusted_p_value:.3g}" if k > 1 else ""
    )
    failed = v.adjusted_p_value < alpha
    if failed:
        reason = (f"credible {worse} beyond {allowed}: {span} {ends} at {_fmt(edge)}, {past} "
                  f"{margin}{together}")  # fmt: skip
    elif v.p_value < alpha:
        reason = (f"a {worse} beyond {allowed} on its own ({span} {ends} at {_fmt(edge)}), but not "
                  f"credible once the {k} gated metrics are tested together{together} ≥ "
                  f"{alpha:.3g}")  # fmt: skip
    elif observed < -v.tolerance:
        reason = (f"the observed {worse} {_fmt(-observed)} exceeds {allowed}, but is not "
                  f"credible: {span} reaches {_fmt(edge)}, not {past} {margin}{together}")  # fmt: skip
    else:
        reason = f"within {allowed}{together}"
    return failed, f"{reason} ({v.detail})"


def adjust(verdicts: list[MetricVerdict], confidence: float) -> list[MetricVerdict]:
    """Decide the paired tests together: Holm over their one-sided p-values at (1 − confidence)/2,
    so the whole gate, not each metric, blocks a same-quality candidate at most that often."""
    alpha = (1.0 - confidence) / 2
    paired = [i for i, v in enumerate(verdicts) if v.test in ("mcnemar-exact", "paired-bootstrap")]
    adjusted = holm([verdicts[i].p_value or 1.0 for i in paired])
    out = list(verdicts)
    level = f"{confidence:.0%}"
    for index, p in zip(paired, adjusted, strict=True):
        v = replace(verdicts[index], adjusted_p_value=p)
        failed, reason = _paired_reason(v, alpha, len(paired), level)
        out[index] = replace(v, verdict="fail" if failed else "pass", reason=reason)
    return out
