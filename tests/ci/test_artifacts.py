"""The pipeline's markdown summary shows stage output and names literally."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from torchlane.ci.artifacts import markdown_summary
from torchlane.ci.runner import PipelineResult, StageResult, StageStatus


def _failed(output: str, name: str = "tests") -> PipelineResult:
    stage = StageResult(
        name=name, status=StageStatus.FAILED, required=True, command=("pytest",), output=output
    )
    return PipelineResult(context="push", branch="feature/x", stages=[stage], seconds=1.0)


def _code_block(summary: str) -> tuple[str, str]:
    lines = summary.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```"))
    fence = lines[start]
    end = next(i for i in range(start + 1, len(lines)) if lines[i] == fence)
    return fence, "\n".join(lines[start + 1 : end])


def test_a_fence_inside_the_output_does_not_close_the_block() -> None:
    output = "before\n```\n</details><script>alert(1)</script>\n````\nafter"
    fence, shown = _code_block(markdown_summary(_failed(output)))
    assert shown == output
    assert len(fence) == 5


@given(st.text(alphabet=st.sampled_from("`ab\n<>|"), max_size=60))
def test_any_output_is_shown_whole_inside_one_block(output: str) -> None:
    stripped = "\n".join(output.rstrip().splitlines()[-40:])
    _, shown = _code_block(markdown_summary(_failed(output)))
    assert shown == stripped


def test_stage_names_and_branch_are_escaped() -> None:
    summary = markdown_summary(_failed("x", name="<b>|evil"))
    assert "<b>" not in summary
    assert "&lt;b&gt;" in summary
