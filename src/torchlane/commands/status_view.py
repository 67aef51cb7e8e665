"""The `torchlane status` table, without click: shared by the command and its fast path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torchlane import render

if TYPE_CHECKING:
    from torchlane.flow.status import BranchStatus, StatusReport


def _days(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}d" if value >= 1 else f"{value * 24:.0f}h"


def _merge_cell(branch: BranchStatus, predicted: bool) -> str:
    if not predicted:
        return "-"
    if branch.conflict is None:
        return "unknown"
    if not branch.conflict:
        return "clean"
    return f"CONFLICT ({len(branch.conflict_files)})"  # the files are named in the hints


def _flags(branch: BranchStatus) -> str:
    flags = []
    if branch.naming_problems:
        flags.append("bad-name")
    if branch.merged:
        flags.append("merged")
    if branch.stale:
        flags.append("stale")
    if branch.long_lived:
        flags.append("sync")
    return ", ".join(flags)


def print_status(report: StatusReport) -> None:
    if not report.branches:
        render.say(f"No branches besides '{report.main}' and '{report.develop}'.")
        return
    rows = [
        [
            b.name,
            b.type.value if b.type else "?",
            f"+{b.ahead} -{b.behind}" + ("" if b.base == report.develop else f" {b.base}"),
            _days(b.last_commit_days),
            _days(b.forked_days),
            _merge_cell(b, report.conflicts_predicted),
            _flags(b),
        ]
        for b in report.branches
    ]
    columns = ["branch", "type", "+ahead -behind", "last", "forked", "merge", "flags"]
    title = f"Against {report.develop} (hotfixes: {report.main}); merge = into {report.develop}"
    render.print_table(title, columns, rows)
    for branch in report.branches:
        if branch.conflict_error:
            render.say(f"{branch.name}: merge not predicted: {branch.conflict_error}")
        for problem in branch.naming_problems:
            render.say(f"{branch.name}: {problem}")
        for hint in branch.hints:
            render.say(f"{branch.name}: {hint}")
