"""gate: judge a commit's metrics against its automatically chosen baseline."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project

if TYPE_CHECKING:
    from torchlane.gate.rules import GateDecision
    from torchlane.project import Project


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


@click.command("gate")
@click.argument("rev", default="HEAD")
@click.option("--baseline", "baseline", default=None, help="Compare with this commit instead.")
@click.option("--notes-ref", default=None, help="Notes ref (default: from configuration).")
@click.option(
    "--power", "power", is_flag=True,
    help="Also print, per paired metric, the smallest drop caught 80%/95% of the time at "
    "several validation-set sizes.",
)  # fmt: skip
@with_project
@json_option
def gate_command(
    rev: str,
    baseline: str | None,
    notes_ref: str | None,
    power: bool,
    project: Project,
    as_json: bool,
) -> int:
    """Pass (exit 0) or fail (exit 1): REV's metrics against its baseline, noise-aware."""
    from torchlane.gate.decide import run_gate
    from torchlane.metrics.history import jsonable, notes_ref_of

    decision = run_gate(project, rev, notes_ref_of(project, notes_ref), baseline, power_table=power)
    if as_json:
        render.print_json(jsonable(decision))
        return 0 if decision.passed else 1
    if decision.baseline is not None and decision.baseline.commit is not None:
        render.say(f"Baseline: {decision.baseline.reason}")
    rows = [
        [v.metric, _num(v.baseline), _num(v.candidate), _num(v.change),
         "—" if v.interval is None else f"[{v.interval[0]:+.4f}, {v.interval[1]:+.4f}]",
         v.verdict]
        for v in decision.metrics
    ]  # fmt: skip
    if rows:
        render.print_table(
            None,
            ["metric", "baseline", "candidate", "change", f"{decision.confidence:.0%} interval",
             "verdict"],
            rows,
        )  # fmt: skip
        for v in decision.metrics:
            p = "" if v.p_value is None else f", p = {v.p_value:.3g}"
            render.say(f"- {v.metric} ({v.test}{p}): {v.reason}")
    for warning in decision.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if power:
        _print_power(decision)
    for message in decision.messages:
        print(("note: " if decision.passed else "") + message, file=sys.stderr)
    if decision.hint:
        print(f"hint: {decision.hint}", file=sys.stderr)
    render.say(f"Gate {'passed' if decision.passed else 'failed'} ({decision.outcome}).")
    return 0 if decision.passed else 1


def _drop(value: float | None, points: bool, percent: bool) -> str:
    if value is None:
        return "not caught"
    return f"{value * (1 if percent else 100):.2f} pts" if points else f"{value:.4g}"


def _print_power(decision: GateDecision) -> None:
    if not decision.power:
        render.say("Power: no metric was judged by a paired test, so there is nothing to size.")
        return
    for p in decision.power:
        percent = p.percent
        rows = [
            [f"{row.n:,}" + (" (now)" if row.n == p.n else ""),
             _drop(row.caught_80, p.points, percent), _drop(row.caught_95, p.points, percent)]
            for row in p.rows
        ]  # fmt: skip
        render.print_table(
            f"{p.metric}: smallest drop caught (allowed drop {_drop(p.tolerance, p.points, percent)})",
            ["examples", "caught 80% of the time", "caught 95% of the time"],
            rows,
        )
        if p.needed is not None and p.target is not None:
            render.say(
                f"- a drop of {_drop(p.target, p.points, percent)} (twice the allowed) is caught "
                f"80% of the time with about {p.needed:,} examples"
            )
