"""A PNG per gated metric: its value along develop's history, with baseline and candidate marked."""

from __future__ import annotations

import math
import re
from pathlib import Path

from torchlane.gate.rules import GateDecision
from torchlane.metrics.history import LogEntry


def _safe_name(metric: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", metric) or "metric"


def threshold_label(direction: str, limit: float) -> str:
    """The legend of the gate's line: the value itself (baseline minus the allowed drop)."""
    return f"{'lowest' if direction == 'higher' else 'highest'} accepted ({limit:.4g})"


def write_charts(
    history: list[LogEntry], decision: GateDecision, candidate_metrics: dict[str, float], out: Path
) -> list[Path]:
    """`history` is newest first (as `metrics log` lists it); one PNG per metric in `decision`."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI machines
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    points = list(reversed(history))
    baseline = decision.baseline.commit if decision.baseline else None
    verdicts = {v.metric: v for v in decision.metrics}
    names = list(verdicts) or sorted(candidate_metrics)
    written = []
    for name in names:
        xs = [i for i, e in enumerate(points) if math.isfinite(e.metrics.get(name, math.nan))]
        fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
        ax.plot(xs, [points[i].metrics[name] for i in xs], "-o", color="#4C72B0", ms=4,
                label="develop (first-parent)")  # fmt: skip
        for i in xs:
            if points[i].commit == baseline:
                ax.plot(i, points[i].metrics[name], "s", color="#55A868", ms=10, label="baseline")
        value = candidate_metrics.get(name)
        verdict = verdicts.get(name)
        x = len(points)
        if value is not None and math.isfinite(value):
            if (
                verdict is not None
                and verdict.interval is not None
                and verdict.baseline is not None
            ):
                lo, hi = (verdict.baseline + e for e in verdict.interval)
                ax.errorbar(x, value, yerr=[[max(0.0, value - lo)], [max(0.0, hi - value)]],
                            color="#C44E52", capsize=5, lw=1.2)  # fmt: skip
            ax.plot(
                x, value, "*", color="#C44E52", ms=16, label=f"candidate {decision.candidate[:8]}"
            )
            ax.annotate(f"{value:.4g}", (x, value), textcoords="offset points", xytext=(10, 4))
        if (
            verdict is not None
            and verdict.baseline is not None
            and verdict.tolerance is not None
            and verdict.direction is not None
        ):
            sign = 1 if verdict.direction == "higher" else -1
            limit = verdict.baseline - sign * verdict.tolerance
            ax.axhline(limit, color="#8C8C8C", ls="--", lw=1,
                       label=threshold_label(verdict.direction, limit))  # fmt: skip
        ticks = [*xs[-11:], x]
        labels = [points[i].commit[:7] for i in xs[-11:]] + ["candidate"]
        ax.set_xticks(ticks, labels, rotation=45, ha="right", fontsize=7)
        ax.set_xlim(-0.5, x + 0.8)
        if verdict is not None:
            ax.set_title(f"{name} along develop: {verdict.verdict}")
        else:
            ax.set_title(f"{name} along develop")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        path = out / f"{_safe_name(name)}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
