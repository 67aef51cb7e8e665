"""A project whose develop line and feature branch carry evaluation records."""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import commit_file
from tests.metrics.helpers import accuracy_record, correct_pattern
from torchlane.git import Git
from torchlane.metrics.store import append_record

GATE_CONFIG = """
[gate]
confidence = 0.95
seed = 1

[gate.metrics.accuracy]
direction = "higher"
max_drop = 0.01

[gate.metrics.loss]
direction = "lower"
max_relative_drop = 0.05
required = false
"""


@dataclass
class Scenario:
    git: Git
    develop: list[str]  # develop's commits with records, oldest first
    candidate: str


def build(
    project, wrong_on_candidate: set[int], n: int = 2000, config: str = GATE_CONFIG
) -> Scenario:
    git = project.git
    with (project.root / ".torchlane.toml").open("a", encoding="utf-8") as handle:
        handle.write(config)
    git.run("checkout", "--quiet", "develop")
    develop = []
    for step in range(3):
        commit = commit_file(git, "model.py", f"step {step}")
        wrong = set(range(220 - 10 * step))
        append_record(
            git,
            accuracy_record(
                commit,
                correct_pattern(n, wrong),
                extra_metrics={"loss": 0.5 - step / 100},
                created_at=f"2026-01-0{step + 1}T00:00:00+00:00",
                branch="develop",
            ),
        )
        develop.append(commit)
    git.run("checkout", "--quiet", "-b", "feature/wider-layers")
    candidate = commit_file(git, "model.py", "wider")
    append_record(
        git,
        accuracy_record(
            candidate,
            correct_pattern(n, wrong_on_candidate),
            extra_metrics={"loss": 0.49},
            created_at="2026-01-05T00:00:00+00:00",
            branch="feature/wider-layers",
        ),
    )
    return Scenario(git, develop, candidate)
