"""What `metrics export --mlflow` picks from the notes, and its keys: git only, no server."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import commit_file
from torchlane.errors import TorchlaneError
from torchlane.metrics.export_mlflow import check_metric_names, split_metrics
from torchlane.metrics.mlflow_records import ExportItem, export_items, record_key, repository_name
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.store import DEFAULT_NOTES_REF, append_record
from torchlane.project import open_project


def _record(commit: str, created_at: str, accuracy: float = 0.9) -> EvaluationRecord:
    return EvaluationRecord(commit=commit, metrics={"accuracy": accuracy}, created_at=created_at)


@pytest.fixture
def history(project):
    """develop: A - B, feature/x off B: C; records on A (twice), B, C."""
    git = project.git
    git.run("checkout", "--quiet", "develop")
    a = commit_file(git, "m.py", "a")
    b = commit_file(git, "m.py", "b")
    git.run("checkout", "--quiet", "-b", "feature/x")
    c = commit_file(git, "m.py", "c")
    append_record(git, _record(a, "2026-01-01T00:00:00+00:00"))
    append_record(git, _record(a, "2026-01-04T00:00:00+00:00", 0.8))
    append_record(git, _record(b, "2026-01-02T00:00:00+00:00"))
    append_record(git, _record(c, "2026-01-03T00:00:00+00:00"))
    return project, {"a": a, "b": b, "c": c}


def _commits(items: list[ExportItem], names: dict[str, str]) -> list[str]:
    by_commit = {v: k for k, v in names.items()}
    return [by_commit[i.record.commit] for i in items]


def test_every_record_oldest_first_with_develop_steps(history) -> None:
    project, names = history
    items, problems = export_items(open_project(project.root), DEFAULT_NOTES_REF)
    assert problems == []
    assert _commits(items, names) == ["a", "b", "c", "a"]
    # README and adoption commits come first on develop: a = 2, b = 3; c is off develop.
    assert [(i.step, i.on_develop) for i in items] == [(2, True), (3, True), (4, False), (2, True)]
    assert len({i.key for i in items}) == 4


def test_branch_and_since_limit_the_commits(history) -> None:
    project, names = history
    ctx = open_project(project.root)
    only_develop, _ = export_items(ctx, DEFAULT_NOTES_REF, branch="develop")
    assert _commits(only_develop, names) == ["a", "b", "a"]
    newer, _ = export_items(ctx, DEFAULT_NOTES_REF, since=names["a"])
    assert _commits(newer, names) == ["b", "c"]
    feature_only, _ = export_items(ctx, DEFAULT_NOTES_REF, branch="feature/x", since="develop")
    assert _commits(feature_only, names) == ["c"]
    with pytest.raises(TorchlaneError, match="--since 'nope' is not a commit"):
        export_items(ctx, DEFAULT_NOTES_REF, since="nope")


def test_unreadable_lines_are_reported_with_their_line_number(history) -> None:
    project, names = history
    git = project.git
    text = git.out("notes", "--ref", DEFAULT_NOTES_REF, "show", names["a"])
    git.run("notes", "--ref", DEFAULT_NOTES_REF, "add", "-f", "-F", "-", names["a"],
            input=text + "\nnot json\n")  # fmt: skip
    items, problems = export_items(open_project(project.root), DEFAULT_NOTES_REF)
    assert len(items) == 4
    assert [(p.commit, p.line) for p in problems] == [(names["a"], 3)]


def test_keys_survive_a_notes_rewrite_and_tell_records_apart(history) -> None:
    project, names = history
    ctx = open_project(project.root)
    before = [i.key for i in export_items(ctx, DEFAULT_NOTES_REF)[0]]
    git = project.git
    # Rewrite A's note with its lines in the other order (what a notes merge may do).
    lines = git.out("notes", "--ref", DEFAULT_NOTES_REF, "show", names["a"]).splitlines()
    git.run("notes", "--ref", DEFAULT_NOTES_REF, "add", "-f", "-F", "-", names["a"],
            input="\n".join(reversed(lines)) + "\n")  # fmt: skip
    assert [i.key for i in export_items(ctx, DEFAULT_NOTES_REF)[0]] == before


@given(st.text(max_size=60), st.text(min_size=1, max_size=200))
def test_record_keys_need_no_quoting_in_mlflow_filters(created_at: str, line: str) -> None:
    key = record_key("a" * 40, created_at, line)
    assert "'" not in key
    assert "\\" not in key
    assert key.startswith("a" * 40 + "/")
    assert len(key) <= 40 + 1 + 40 + 1 + 16


def test_repository_name_comes_from_the_forge_remote(project) -> None:
    ctx = open_project(project.root)
    assert repository_name(ctx) == project.root.name  # origin is a local path here
    project.git.run("remote", "set-url", "origin", "git@github.com:acme/vision-models.git")
    assert repository_name(open_project(project.root)) == "vision-models"


def test_split_metrics_keeps_non_finite_values_as_tags() -> None:
    finite, tags = split_metrics({"a": 1.0, "b": math.nan, "c": math.inf, "d": -math.inf})
    assert finite == {"a": 1.0}
    assert tags == {
        "torchlane.nonfinite.b": "nan",
        "torchlane.nonfinite.c": "inf",
        "torchlane.nonfinite.d": "-inf",
    }


def _mlflow_accepts(name: str) -> bool:
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_metric_name

    try:
        _validate_metric_name(name)
    except MlflowException:
        return False
    return len(name) <= 250


@settings(deadline=None)  # the first example imports mlflow
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from("ab_-. :/()%é\\\n"), min_size=1, max_size=12),
        st.text(min_size=1, max_size=8),
    )
)
def test_metric_name_check_agrees_with_mlflow(name: str) -> None:
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    item = ExportItem("k", EvaluationRecord(commit="a" * 40, metrics={name: 1.0}), 0, True)
    try:
        check_metric_names([item])
        ours = True
    except TorchlaneError:
        ours = False
    # MLflow checks with re.match(...$), which also lets one trailing newline through; a metric
    # name ending in a newline is refused here on purpose.
    assert ours == (_mlflow_accepts(name) and not name.endswith("\n"))
