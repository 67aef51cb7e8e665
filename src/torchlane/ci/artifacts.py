"""JUnit XML (for CI test reports) and a markdown summary of a pipeline run."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from torchlane.ci.runner import PipelineResult, StageStatus
from torchlane.render import fenced_block, markdown_text

_ICON = {
    StageStatus.PASSED: "passed",
    StageStatus.FAILED: "FAILED",
    StageStatus.CACHED: "skipped (cached)",
    StageStatus.BLOCKED: "skipped (blocked)",
}
_OUTPUT_TAIL = 20_000  # characters of a failed stage's output kept in the report


def junit_xml(result: PipelineResult) -> str:
    failures = sum(s.status is StageStatus.FAILED for s in result.stages)
    skipped = sum(s.status in (StageStatus.CACHED, StageStatus.BLOCKED) for s in result.stages)
    suite = ET.Element(
        "testsuite",
        name=f"torchlane ci ({result.context})",
        tests=str(len(result.stages)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{result.seconds:.3f}",
    )
    for stage in result.stages:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="torchlane.ci",
            name=stage.name,
            time=f"{stage.seconds:.3f}",
        )
        if stage.status is StageStatus.FAILED:
            failure = ET.SubElement(
                case, "failure", message=stage.reason or f"exit status {stage.exit_code}"
            )
            failure.text = stage.output[-_OUTPUT_TAIL:]
        elif stage.status in (StageStatus.CACHED, StageStatus.BLOCKED):
            ET.SubElement(case, "skipped", message=stage.reason)
        if stage.output and stage.status is not StageStatus.FAILED:
            ET.SubElement(case, "system-out").text = stage.output[-_OUTPUT_TAIL:]
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def markdown_summary(result: PipelineResult) -> str:
    verdict = "passed" if result.passed else "failed"
    lines = [
        f"## torchlane ci: {verdict}",
        "",
        f"Branch {markdown_text(result.branch or '(detached)')}, context {markdown_text(result.context)},"
        f" {result.seconds:.1f} s.",
        "",
        "| stage | result | time | required |",
        "|---|---|---|---|",
    ]
    for stage in result.stages:
        lines.append(
            f"| {markdown_text(stage.name)} | {_ICON.get(stage.status, stage.status.value)} | {stage.seconds:.1f} s | "
            f"{'yes' if stage.required else 'no'} |"
        )
    for stage in result.stages:
        if stage.status is StageStatus.FAILED:
            tail = "\n".join(stage.output.rstrip().splitlines()[-40:])
            lines += [
                "",
                f"<details><summary>{markdown_text(stage.name)} output</summary>",
                "",
                *fenced_block(tail),
                "</details>",
            ]
    return "\n".join(lines) + "\n"


def write_artifacts(result: PipelineResult, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    junit = folder / "torchlane-ci.xml"
    summary = folder / "torchlane-ci.md"
    junit.write_text(junit_xml(result), encoding="utf-8")
    summary.write_text(markdown_summary(result), encoding="utf-8")
    return [junit, summary]
