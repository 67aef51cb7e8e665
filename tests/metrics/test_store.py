"""The notes store: concurrent writers lose nothing; damaged notes are reported, never fatal."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import commit_file
from tests.metrics.helpers import accuracy_record, correct_pattern, plain_record
from torchlane.git import Git
from torchlane.metrics.store import (
    DEFAULT_NOTES_REF,
    append_record,
    commits_with_records,
    read_many,
    read_records,
)

WRITER = textwrap.dedent(
    """
    import sys
    from torchlane.git import Git
    from torchlane.metrics.record import EvaluationRecord
    from torchlane.metrics.store import append_record

    root, commit, worker = sys.argv[1], sys.argv[2], int(sys.argv[3])
    git = Git(root)
    for i in range(5):
        record = EvaluationRecord(commit, {"accuracy": worker + i / 10},
                                  created_at=f"2026-01-01T00:00:{worker:02d}.{i}", seed=worker * 10 + i)
        append_record(git, record)
    """
)


@pytest.mark.slow
def test_eight_concurrent_writers_keep_all_forty_records(project) -> None:
    commit = project.git.out("rev-parse", "HEAD")
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(project.root), commit, str(worker)])
        for worker in range(8)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * 8
    read = read_records(project.git, commit)
    assert read.problems == []
    assert sorted(r.seed for r in read.records if r.seed is not None) == [
        w * 10 + i for w in range(8) for i in range(5)
    ]
    # No scratch refs are left behind.
    assert project.git.lines("for-each-ref", "refs/notes/torchlane-scratch/") == []


def test_records_round_trip_with_per_example_results(project) -> None:
    commit = project.git.out("rev-parse", "HEAD")
    record = accuracy_record(commit, correct_pattern(1000, {3, 500, 999}))
    append_record(project.git, record)
    assert read_records(project.git, "HEAD").records == [record]
    assert commits_with_records(project.git) == {commit}


def _write_note(git: Git, commit: str, text: str) -> None:
    git.run("notes", "--ref", DEFAULT_NOTES_REF, "add", "-f", "-F", "-", commit, input=text)


def test_corrupt_lines_are_reported_with_commit_and_line(project) -> None:
    commit = project.git.out("rev-parse", "HEAD")
    good = plain_record(commit, {"accuracy": 0.9}).to_line()
    other = plain_record("f" * 40, {"accuracy": 0.1}).to_line()
    _write_note(
        project.git,
        commit,
        "\n".join(
            [
                good,
                "{not json",
                '{"commit": "x"}',
                json.dumps({"commit": commit, "metrics": {"a": "high"}}),
                other,
                "[1, 2]",
            ]
        )
        + "\n",
    )
    read = read_records(project.git, commit)
    assert [r.metrics for r in read.records] == [{"accuracy": 0.9}]
    assert [(p.commit, p.line) for p in read.problems] == [(commit, n) for n in (2, 3, 4, 5, 6)]
    assert "describes commit ffffffffffff" in read.problems[3].reason
    assert str(read.problems[0]).startswith(f"{commit[:12]} note line 2:")
    # Appending to a damaged note keeps the damaged lines for a person to inspect.
    append_record(project.git, plain_record(commit, {"accuracy": 0.95}))
    again = read_records(project.git, commit)
    assert len(again.records) == 2
    assert len(again.problems) == 5


def test_read_many_matches_one_by_one_reads(project) -> None:
    commits = [commit_file(project.git, f"f{i}.txt", str(i)) for i in range(4)]
    for i, commit in enumerate(commits[:3]):
        append_record(project.git, plain_record(commit, {"accuracy": i / 10}))
    _write_note(project.git, commits[3], "garbage\n")
    many = read_many(project.git, commits)
    assert set(many) == set(commits)
    for commit in commits:
        assert many[commit] == read_records(project.git, commit)
    assert many[commits[3]].problems[0].line == 1


def test_records_keep_note_order_whatever_date_they_claim(project) -> None:
    # created_at is whatever the writer claims (anyone who can push the notes ref can write
    # 9999): readers keep the order in which records were appended.
    commit = project.git.out("rev-parse", "HEAD")
    append_record(project.git, plain_record(commit, {"a": 2.0}, "2026-01-02T00:00:00+00:00"))
    append_record(project.git, plain_record(commit, {"a": 1.0}, "2026-01-01T00:00:00+00:00"))
    append_record(project.git, plain_record(commit, {"a": 3.0}, "9999-12-31T00:00:00+00:00"))
    assert [r.metrics["a"] for r in read_records(project.git, commit).records] == [2.0, 1.0, 3.0]
