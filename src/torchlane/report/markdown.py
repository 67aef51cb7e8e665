"""The pull-request report: the gate's decision, the baseline and why, environments, artifacts.

The first line is a hidden marker so that CI can find its own comment and edit it in place
instead of adding one comment per push.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torchlane.gate.rules import GateDecision, MetricVerdict
from torchlane.metrics.history import pick_record
from torchlane.metrics.store import read_records
from torchlane.project import Project
from torchlane.render import markdown_text

MARKER = "<!-- torchlane-report -->"
_ENV_KEYS = ("python", "torch", "cuda", "cudnn", "device", "platform")


@dataclass(frozen=True)
class Artifact:
    name: str
    location: str  # a path or URL


@dataclass(frozen=True)
class Report:
    marker: str
    decision: GateDecision
    environment: dict[str, dict[str, str | None]]  # "baseline"/"candidate" -> environment
    artifacts: list[Artifact] = field(default_factory=list)


def parse_artifact(text: str) -> Artifact:
    """`name=location`, or a bare location named after its last path component."""
    name, sep, location = text.partition("=")
    if sep and name and "/" not in name:
        return Artifact(name, location)
    return Artifact(text.rstrip("/").rsplit("/", 1)[-1] or text, text)


def build_report(
    ctx: Project, decision: GateDecision, notes_ref: str, artifacts: list[Artifact]
) -> Report:
    environment: dict[str, dict[str, str | None]] = {}
    sides = [("candidate", decision.candidate)]
    if decision.baseline is not None and decision.baseline.commit is not None:
        sides.insert(0, ("baseline", decision.baseline.commit))
    for side, commit in sides:
        record = pick_record(read_records(ctx.git, commit, notes_ref).records)
        if record is not None:
            environment[side] = dict(record.environment)
    return Report(MARKER, decision, environment, artifacts)


def _cell(text: str) -> str:
    return markdown_text(text)


def _said(text: str) -> str:
    """torchlane's own sentences, which quote commands in backticks and user text in quotes."""
    return markdown_text(text, code_spans=True)


def _url(location: str) -> str:
    return "".join(
        {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}.get(c, c) for c in location
    )


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if math.isfinite(value) else str(value)


def _change(v: MetricVerdict) -> str:
    if v.change is None:
        return "—"
    relative = f" ({v.relative_change:+.2%})" if v.relative_change is not None else ""
    return f"{v.change:+.4f}{relative}"


def _interval(v: MetricVerdict) -> str:
    return "—" if v.interval is None else f"[{v.interval[0]:+.4f}, {v.interval[1]:+.4f}]"


_ICON = {"pass": "✅ pass", "fail": "❌ fail", "not judged": "➖ not judged",
         "unpaired": "➖ unpaired", "unknown direction": "❓ unknown direction"}  # fmt: skip


def to_markdown(report: Report) -> str:
    d = report.decision
    title = "passed" if d.passed else "failed"
    lines = [report.marker, f"## {'✅' if d.passed else '❌'} Model quality gate {title}", ""]
    base = d.baseline
    if base is not None and base.commit is not None:
        lines.append(
            f"Candidate `{d.candidate[:12]}` against baseline `{base.commit[:12]}`: {base.reason}"
        )
    else:
        lines.append(f"Candidate `{d.candidate[:12]}`; no baseline was compared.")
    if d.outcome not in ("pass", "fail"):
        lines.append(f"\n**Outcome: {d.outcome}.**")
    for message in d.messages:
        lines.append(f"\n> {_said(message)}")
    for warning in d.warnings:
        lines.append(f"\n> ⚠️ power: {_said(warning)}")
    if d.hint:
        lines.append(f"\n> hint: {_said(d.hint)}")
    if d.metrics:
        level = f"{d.confidence:.0%}"
        lines += [
            "",
            f"| metric | baseline | candidate | change | {level} interval | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for v in d.metrics:
            arrow = {"higher": "↑", "lower": "↓"}.get(v.direction or "", "?")
            lines.append(
                f"| {_cell(v.metric)} {arrow} | {_num(v.baseline)} | {_num(v.candidate)} | "
                f"{_change(v)} | {_interval(v)} | {_ICON.get(v.verdict, v.verdict)} |"
            )
        lines += ["", "**Why**", ""]
        for v in d.metrics:
            p = "" if v.p_value is None else f", p = {v.p_value:.3g}"
            lines.append(f"- **{_cell(v.metric)}** ({v.test}{p}): {_said(v.reason)}")
        lines += [
            "",
            "A metric fails only when its drop beyond the tolerance is credible: a paired test "
            "(exact McNemar for right/wrong outcomes, paired bootstrap of per-example scores or of "
            f"replicates on shared resamples; {level} intervals shown) with one-sided p-values "
            "adjusted together (Holm), so the whole gate blocks a same-quality model at most "
            f"{(1 - d.confidence) / 2:.1%} of the time. A metric that cannot be paired is "
            "reported as unpaired and judged on its point values only if its rule sets "
            "gate_unpaired. Floors, ceilings, missing and non-finite values (NaN anywhere in the "
            "evidence) fail outright; a metric whose direction is unknown stops the gate.",
        ]
    if report.environment:
        sides = list(report.environment)
        lines += ["", "<details><summary>Environment</summary>", ""]
        lines += ["| | " + " | ".join(sides) + " |", "|---|" + "---|" * len(sides)]
        for key in _ENV_KEYS:
            values = [report.environment[s].get(key) or "—" for s in sides]
            if set(values) == {"—"}:
                continue
            lines.append(f"| {key} | " + " | ".join(_cell(str(v)) for v in values) + " |")
        lines += ["", "</details>"]
    if report.artifacts:
        lines += ["", "**Artifacts**", ""]
        lines += [f"- [{_cell(a.name)}]({_url(a.location)})" for a in report.artifacts]
    return "\n".join(lines) + "\n"
