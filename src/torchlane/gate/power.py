"""What the gate can see: the smallest drop it catches 80 % / 95 % of the time, and the data size
that catching a drop of twice the tolerance would take.

Computed from each paired metric's own evidence: the number of examples and, for right/wrong
results, the share of examples on which the two models disagree (exact McNemar power); for other
metrics, the spread of the per-example difference that the paired bootstrap saw (normal
approximation). A drop in one metric is judged by Holm's first step, at α/k for k paired metrics,
so that is the level used here.
"""

from __future__ import annotations

from dataclasses import dataclass

from torchlane.gate.rules import MetricVerdict
from torchlane.gate.stats import detectable_drop, examples_needed

PAIRED = ("mcnemar-exact", "paired-bootstrap")
TABLE_SIZES = (500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)


@dataclass(frozen=True, kw_only=True)
class PowerRow:
    n: int
    caught_80: (
        float | None
    )  # smallest true drop caught 80 % of the time (None: none the data allow)
    caught_95: float | None


@dataclass(frozen=True, kw_only=True)
class MetricPower:
    metric: str
    n: int
    tolerance: float
    caught_80: float | None
    caught_95: float | None
    target: float | None  # twice the tolerance: the drop a gate should catch
    needed: int | None  # examples to catch `target` 80 % of the time
    points: bool  # drops read as accuracy points (right/wrong results)
    percent: bool  # the metric itself is recorded in percent
    warning: str | None
    rows: list[PowerRow]


def _units(v: MetricVerdict) -> float:
    """Metric units per unit of the test (100 when the metric is recorded in percent)."""
    return 1.0 if v.scale is None else v.scale


def _at(v: MetricVerdict, n: int, alpha: float, power: float) -> float | None:
    assert v.tolerance is not None
    s = _units(v)
    if v.test == "mcnemar-exact":
        found = detectable_drop(n, v.tolerance / s, alpha, power, discordance=v.discordance or 0.0)
        return None if found is None else found * s
    return detectable_drop(n, v.tolerance, alpha, power, spread=v.spread or 0.0)


def _show(value: float, points: bool, percent: bool) -> str:
    if points:
        shown = f"{value * (1 if percent else 100):.2g}"
        return f"{shown} point" + ("" if shown == "1" else "s")
    return f"{value:.3g}"


def metric_power(v: MetricVerdict, confidence: float, k: int, *, table: bool) -> MetricPower:
    assert v.n is not None
    assert v.tolerance is not None
    alpha = (1.0 - confidence) / 2 / max(1, k)
    c80, c95 = _at(v, v.n, alpha, 0.8), _at(v, v.n, alpha, 0.95)
    target = 2 * v.tolerance if v.tolerance > 0 else None
    needed = None
    if target is not None:
        if v.test == "mcnemar-exact":
            s = _units(v)
            needed = examples_needed(target / s, v.tolerance / s, alpha, 0.8,
                                     discordance=max(v.discordance or 0.0, 1.0 / v.n))  # fmt: skip
        else:
            needed = examples_needed(target, v.tolerance, alpha, 0.8, spread=v.spread or 0.0)
    points = v.test == "mcnemar-exact"
    percent = _units(v) == 100.0
    warning = None
    if target is not None and (c80 is None or c80 > target):
        missed = (
            f"drops under {_show(c80, points, percent)} are usually missed (caught less than 80 % "
            "of the time)"
            if c80 is not None
            else "no drop the observed disagreement allows is caught 80 % of the time"
        )
        need = (
            f"; catching a drop of {_show(target, points, percent)} (twice the allowed "
            f"{_show(v.tolerance, points, percent)}) needs about {needed:,} examples"
            if needed is not None
            else ""
        )
        warning = f"{v.metric}: with {v.n:,} examples, {missed}{need}."
    rows: list[PowerRow] = []
    if table:
        for n in sorted({v.n, *TABLE_SIZES}):
            rows.append(
                PowerRow(n=n, caught_80=_at(v, n, alpha, 0.8), caught_95=_at(v, n, alpha, 0.95))
            )
    return MetricPower(
        metric=v.metric, n=v.n, tolerance=v.tolerance, caught_80=c80, caught_95=c95,
        target=target, needed=needed, points=points, percent=percent, warning=warning, rows=rows,
    )  # fmt: skip


def gate_power(
    verdicts: list[MetricVerdict], confidence: float, *, table: bool = False
) -> list[MetricPower]:
    paired = [v for v in verdicts if v.test in PAIRED and v.n]
    return [metric_power(v, confidence, len(paired), table=table) for v in paired]
