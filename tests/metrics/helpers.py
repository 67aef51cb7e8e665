"""Records with per-example results whose right verdict is known by construction."""

from __future__ import annotations

from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord, PerExample
from torchlane.metrics.store import append_record

IDS = "ids-" + "a" * 60
DATA = "data-" + "b" * 59


def correct_pattern(n: int, wrong: set[int]) -> tuple[float, ...]:
    return tuple(0.0 if i in wrong else 1.0 for i in range(n))


def accuracy_record(
    commit: str,
    values: tuple[float, ...],
    *,
    ids: str = IDS,
    data: str | None = DATA,
    extra_metrics: dict[str, float] | None = None,
    created_at: str = "2026-01-01T00:00:00+00:00",
    branch: str | None = None,
    dirty: bool = False,
) -> EvaluationRecord:
    accuracy = sum(values) / len(values)
    return EvaluationRecord(
        commit=commit,
        metrics={"accuracy": accuracy, **(extra_metrics or {})},
        data_fingerprint=data,
        environment={"python": "3.11", "torch": "2.13.0", "device": "cpu"},
        created_at=created_at,
        branch=branch,
        dirty=dirty,
        per_example=PerExample("correct", values, ids, metric="accuracy"),
    )


def plain_record(
    commit: str, metrics: dict[str, float], created_at: str = "2026-01-01T00:00:00+00:00"
) -> EvaluationRecord:
    return EvaluationRecord(
        commit=commit, metrics=metrics, created_at=created_at, data_fingerprint=DATA
    )


def record_at(git: Git, rev: str, metrics: dict[str, float]) -> str:
    commit = git.out("rev-parse", rev)
    append_record(git, plain_record(commit, metrics))
    return commit
