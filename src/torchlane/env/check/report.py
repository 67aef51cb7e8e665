"""Plain-text and JSON renderings of a check report. Plain text (not rich) because `env check`
runs in git hooks, where importing rich would cost more than the check itself."""

from __future__ import annotations

import json

from torchlane.env.check.findings import CheckReport


def render_json(report: CheckReport) -> str:
    from dataclasses import asdict

    data = {
        "root": report.root,
        "files": report.files,
        "errors": report.errors,
        "warnings": report.warnings,
        "findings": [asdict(f) for f in report.findings],
    }
    return json.dumps(data, indent=2) + "\n"


def render_text(report: CheckReport) -> str:
    if not report.findings:
        return (
            f"env check: {len(report.files)} file(s) checked, no problems "
            "(files git tracks or has staged; `git add` a new file to check it).\n"
        )
    places = [f"{f.file}:{f.line}" if f.line else f.file for f in report.findings]
    width_place = max(len("LOCATION"), *(len(p) for p in places))
    width_rule = max(len("RULE"), *(len(f.rule) for f in report.findings))
    lines = [f"{'SEVERITY':<8}  {'LOCATION':<{width_place}}  {'RULE':<{width_rule}}  MESSAGE"]
    indent = " " * (8 + 2 + width_place + 2 + width_rule + 2)
    for finding, place in zip(report.findings, places, strict=True):
        lines.append(
            f"{finding.severity:<8}  {place:<{width_place}}  {finding.rule:<{width_rule}}  {finding.message}"
        )
        lines.append(f"{indent}fix: {finding.fix}")
    infos = len(report.findings) - report.errors - report.warnings
    lines.append(
        f"env check: {report.errors} error(s), {report.warnings} warning(s), {infos} note(s) "
        f"in {len(report.files)} file(s)."
    )
    return "\n".join(lines) + "\n"
