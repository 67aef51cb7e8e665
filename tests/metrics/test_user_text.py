"""User text (commit subjects, metric names) is shown as typed: never markup, never a crash."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import commit_file
from tests.metrics.helpers import accuracy_record, correct_pattern
from torchlane.metrics.store import append_record
from torchlane.render import markdown_text

ODD = "acc[/]<img src=x onerror=alert(1)>|[bold]x"
SUBJECT = "[skip ci] tune [/] the lr"
CONFIG = f"""
[gate]
confidence = 0.95
seed = 1

[gate.metrics.{json.dumps(ODD)}]
direction = "higher"
max_drop = 0.01
gate_unpaired = true  # no per-example results or replicates: judged on its point values
"""


def _odd_project(project) -> tuple[str, str]:
    git = project.git
    with (project.root / ".torchlane.toml").open("a", encoding="utf-8") as handle:
        handle.write(CONFIG)
    git.run("checkout", "--quiet", "develop")
    base = commit_file(git, "model.py", "base", SUBJECT)
    record = accuracy_record(base, correct_pattern(400, set(range(40))), branch="develop")
    record.metrics[ODD] = 0.9
    append_record(git, record)
    git.run("checkout", "--quiet", "-b", "feature/odd")
    head = commit_file(git, "model.py", "wider", f"{SUBJECT} again")
    candidate = accuracy_record(head, correct_pattern(400, set(range(44))), branch="feature/odd")
    candidate.metrics[ODD] = 0.5
    append_record(git, candidate)
    return base, head


def test_markup_in_subjects_and_metric_names_is_shown_as_typed(project, cli) -> None:
    base, _ = _odd_project(project)
    root = str(project.root)
    log = cli(["metrics", "log", "--all", "-C", root])
    assert log.code == 0, log.err
    assert "[skip ci] tune [/] the lr" in log.out
    assert ODD in log.out
    diff = cli(["metrics", "diff", base, "HEAD", "-C", root])
    assert diff.code == 0, diff.err
    assert ODD in diff.out
    gate = cli(["gate", "-C", root])
    assert gate.code == 1, gate.err  # the odd metric fell from 0.9 to 0.5: a verdict, not a crash
    assert ODD in gate.out


def test_html_and_markdown_in_a_metric_name_are_escaped_in_the_report(project, cli) -> None:
    _odd_project(project)
    result = cli(["report", "-C", str(project.root)])
    assert result.code == 0, result.err
    assert "<img" not in result.out
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in result.out
    assert "acc\\[/\\]" in result.out
    row = next(line for line in result.out.splitlines() if line.startswith("| acc"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 7  # the name's own | does not add a column


_UNESCAPED_PUNCTUATION = re.compile(r"(?<!\\)[`*_\[\]()#|~<>!]")


@given(st.text(max_size=60))
def test_markdown_text_leaves_nothing_markdown_or_html_can_act_on(text: str) -> None:
    escaped = markdown_text(text)
    assert "\n" not in escaped
    assert "\r" not in escaped
    assert "<" not in escaped
    assert ">" not in escaped
    without_escapes = escaped.replace("\\\\", "")
    assert not _UNESCAPED_PUNCTUATION.search(without_escapes)
    # Reversible: unescaping gives the text back (newlines as spaces).
    unescaped = re.sub(r"\\(.)", r"\1", escaped)
    unescaped = unescaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped == text.replace("\r", " ").replace("\n", " ")
