"""`torchlane metrics export --mlflow`: against a real `mlflow server` (one per test session)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit_file
from tests.metrics.mlflow_server import free_port, running_server
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.store import append_record

SRC = Path(__file__).resolve().parents[2] / "src"
# With `pytest -n`, every test here runs on one worker, so that one server serves them all.
pytestmark = pytest.mark.xdist_group("mlflow-server")


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    with running_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture
def client(mlflow_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_uri)


def record(
    commit: str, metrics: dict[str, float], created_at: str, **fields: Any
) -> EvaluationRecord:
    base: dict[str, Any] = {
        "branch": "develop",
        "environment": {"python": "3.11.7", "torch": "2.13.0", "cuda": None, "device": "cpu"},
        "checkpoint_sha256": "c" * 64,
        "data_fingerprint": "d" * 64,
        "seed": 7,
        "torchlane_version": "0.1.0",
    }
    return EvaluationRecord(
        commit=commit, metrics=metrics, created_at=created_at, **(base | fields)
    )


def develop_commits(project, count: int) -> list[str]:
    project.git.run("checkout", "--quiet", "develop")
    return [commit_file(project.git, "model.py", f"step {i}") for i in range(count)]


def export(cli, project, uri: str, experiment: str, *extra: str) -> dict[str, Any]:
    result = cli(
        ["metrics", "export", "--mlflow", uri, "--experiment", experiment, "--json",
         "-C", str(project.root), *extra]
    )  # fmt: skip
    assert result.code == 0, result.err
    return json.loads(result.out)


def runs_of(client, experiment: str) -> list[Any]:
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else client.search_runs([found.experiment_id], max_results=1000)


@pytest.fixture(autouse=True)
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow retries a refused connection for minutes by default.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")


@pytest.mark.slow
def test_one_run_per_record_with_tags_metrics_and_step(project, cli, mlflow_uri, client) -> None:
    first, second = develop_commits(project, 2)
    append_record(
        project.git, record(first, {"accuracy": 0.9, "loss": 0.5}, "2026-01-01T00:00:00+00:00")
    )
    append_record(project.git, record(second, {"accuracy": 0.91}, "2026-01-02T00:00:00+00:00"))
    # A re-run of the same commit on another device is its own run.
    rerun = record(second, {"accuracy": 0.92}, "2026-01-03T00:00:00+00:00", dirty=True,
                   environment={"python": "3.11.7", "torch": "2.13.0", "cuda": "12.8", "device": "cuda"})  # fmt: skip
    append_record(project.git, rerun)
    experiment = f"exp-{uuid.uuid4().hex[:8]}"

    result = export(cli, project, mlflow_uri, experiment)

    assert (result["created"], result["skipped"], result["would_create"]) == (3, 0, 0)
    runs = {r.info.run_id: r for r in runs_of(client, experiment)}
    assert set(runs) == {r["run_id"] for r in result["runs"]}
    by_time = sorted(runs.values(), key=lambda r: r.data.tags["torchlane.created_at"])
    assert [r.data.metrics for r in by_time] == [
        {"accuracy": 0.9, "loss": 0.5}, {"accuracy": 0.91}, {"accuracy": 0.92},
    ]  # fmt: skip
    tags = by_time[2].data.tags
    assert tags["mlflow.source.git.commit"] == second
    assert tags["mlflow.source.git.branch"] == "develop"
    assert tags["mlflow.runName"] == second[:12]
    assert tags["torchlane.dirty"] == "true"
    assert by_time[0].data.tags["torchlane.dirty"] == "false"
    assert tags["torchlane.env.device"] == "cuda"
    assert tags["torchlane.env.cuda"] == "12.8"
    assert "torchlane.env.cuda" not in by_time[0].data.tags  # unknown facts are left out
    assert tags["torchlane.checkpoint_sha256"] == "c" * 64
    assert tags["torchlane.data_fingerprint"] == "d" * 64
    assert tags["torchlane.seed"] == "7"
    assert tags["torchlane.version"] == "0.1.0"
    assert tags["torchlane.on_develop"] == "true"
    assert tags["torchlane.record"].startswith(f"{second}/2026-01-03T00:00:00+00:00/")
    assert by_time[2].info.status == "FINISHED"
    assert by_time[2].info.start_time == 1767398400000  # the record's time, not the export's
    # README, adoption commit, then the two new commits: develop positions 2 and 3.
    history = client.get_metric_history(by_time[0].info.run_id, "accuracy")
    assert [m.step for m in history] == [2]
    assert [m.step for m in client.get_metric_history(by_time[2].info.run_id, "accuracy")] == [3]


@pytest.mark.slow
def test_re_export_is_idempotent_and_a_new_record_adds_one_run(
    project, cli, mlflow_uri, client
) -> None:
    first, second = develop_commits(project, 2)
    append_record(project.git, record(first, {"accuracy": 0.9}, "2026-01-01T00:00:00+00:00"))
    append_record(project.git, record(second, {"accuracy": 0.91}, "2026-01-02T00:00:00+00:00"))
    experiment = f"exp-{uuid.uuid4().hex[:8]}"
    created = export(cli, project, mlflow_uri, experiment)
    assert created["created"] == 2

    again = export(cli, project, mlflow_uri, experiment)

    assert (again["created"], again["skipped"]) == (0, 2)
    assert {r["run_id"] for r in again["runs"]} == {r["run_id"] for r in created["runs"]}
    assert len(runs_of(client, experiment)) == 2

    append_record(project.git, record(first, {"accuracy": 0.95}, "2026-01-05T00:00:00+00:00"))
    dry = export(cli, project, mlflow_uri, experiment, "--dry-run")
    assert (dry["created"], dry["skipped"], dry["would_create"]) == (0, 2, 1)
    assert len(runs_of(client, experiment)) == 2
    third = export(cli, project, mlflow_uri, experiment)
    assert (third["created"], third["skipped"]) == (1, 2)
    runs = runs_of(client, experiment)
    assert len(runs) == 3
    assert sorted(
        r.data.metrics["accuracy"] for r in runs if r.data.tags["torchlane.commit"] == first
    ) == [0.9, 0.95]

    human = cli(["metrics", "export", "--mlflow", mlflow_uri, "--experiment", experiment,
                 "-C", str(project.root)])  # fmt: skip
    assert human.code == 0
    assert f"'{experiment}' at {mlflow_uri}: 0 created, 3 already there." in human.out


@pytest.mark.slow
def test_non_finite_metrics_are_tags_not_clamped_numbers(project, cli, mlflow_uri, client) -> None:
    (commit,) = develop_commits(project, 1)
    metrics = {"accuracy": 0.5, "loss": float("nan"), "ppl": float("inf"), "margin": float("-inf")}
    append_record(project.git, record(commit, metrics, "2026-01-01T00:00:00+00:00"))
    experiment = f"exp-{uuid.uuid4().hex[:8]}"

    export(cli, project, mlflow_uri, experiment)

    (run,) = runs_of(client, experiment)
    assert run.data.metrics == {"accuracy": 0.5}
    tags = run.data.tags
    assert tags["torchlane.nonfinite.loss"] == "nan"
    assert tags["torchlane.nonfinite.ppl"] == "inf"
    assert tags["torchlane.nonfinite.margin"] == "-inf"


@pytest.mark.slow
def test_more_metrics_than_one_mlflow_request_takes(project, cli, mlflow_uri, client) -> None:
    (commit,) = develop_commits(project, 1)
    finite = {f"class/{i:04d}/recall": i / 2000 for i in range(1100)}  # log-batch takes 1000
    nonfinite = {f"class/{i:04d}/loss": float("nan") for i in range(105)}  # and 100 tags
    append_record(project.git, record(commit, finite | nonfinite, "2026-01-01T00:00:00+00:00"))
    experiment = f"exp-{uuid.uuid4().hex[:8]}"

    export(cli, project, mlflow_uri, experiment)

    (run,) = runs_of(client, experiment)
    assert run.data.metrics == finite
    assert sum(t.startswith("torchlane.nonfinite.") for t in run.data.tags) == 105
    assert "torchlane.record" in run.data.tags


@pytest.mark.slow
def test_dry_run_on_a_new_experiment_creates_nothing(project, cli, mlflow_uri, client) -> None:
    (commit,) = develop_commits(project, 1)
    append_record(project.git, record(commit, {"accuracy": 0.5}, "2026-01-01T00:00:00+00:00"))
    experiment = f"exp-{uuid.uuid4().hex[:8]}"

    result = export(cli, project, mlflow_uri, experiment, "--dry-run")

    assert (result["would_create"], result["experiment_id"]) == (1, None)
    assert result["runs"][0]["action"] == "would create"
    assert client.get_experiment_by_name(experiment) is None


@pytest.mark.slow
def test_a_metric_name_mlflow_rejects_stops_before_anything_is_sent(
    project, cli, mlflow_uri, client
) -> None:
    first, second = develop_commits(project, 2)
    append_record(project.git, record(first, {"accuracy": 0.9}, "2026-01-01T00:00:00+00:00"))
    append_record(project.git, record(second, {"top-1 (%)": 0.9}, "2026-01-02T00:00:00+00:00"))
    experiment = f"exp-{uuid.uuid4().hex[:8]}"

    result = cli(["metrics", "export", "--mlflow", mlflow_uri, "--experiment", experiment,
                  "-C", str(project.root)])  # fmt: skip

    assert result.code == 1
    assert "MLflow does not accept the metric name 'top-1 (%)'" in result.err
    assert client.get_experiment_by_name(experiment) is None


@pytest.mark.slow
def test_deleted_experiment_is_named_with_the_way_back(project, cli, mlflow_uri, client) -> None:
    (commit,) = develop_commits(project, 1)
    append_record(project.git, record(commit, {"accuracy": 0.5}, "2026-01-01T00:00:00+00:00"))
    experiment = f"exp-{uuid.uuid4().hex[:8]}"
    client.delete_experiment(client.create_experiment(experiment))

    result = cli(["metrics", "export", "--mlflow", mlflow_uri, "--experiment", experiment,
                  "-C", str(project.root)])  # fmt: skip

    assert result.code == 1
    assert f"The MLflow experiment '{experiment}' is deleted" in result.err
    assert "mlflow experiments restore" in result.err


def test_unreachable_server_is_a_clear_error(project, cli) -> None:
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    (commit,) = develop_commits(project, 1)
    append_record(project.git, record(commit, {"accuracy": 0.5}, "2026-01-01T00:00:00+00:00"))
    uri = f"http://127.0.0.1:{free_port()}"  # bound, then released: nothing listens there

    result = cli(["metrics", "export", "--mlflow", uri, "-C", str(project.root)])

    assert result.code == 1
    assert (
        f"error: Cannot reach the MLflow tracking server at {uri} (Connection refused)."
        in result.err
    )
    assert "hint: Check the URI" in result.err


def _interpreter_without_mlflow() -> str | None:
    """A Python that has torchlane's own dependencies but not mlflow (CI has mlflow everywhere)."""
    probe = (
        "import importlib.util as u, sys; "
        "sys.exit(0 if u.find_spec('mlflow') is None and u.find_spec('click') and "
        "u.find_spec('pydantic') else 1)"
    )
    for candidate in (sys.executable, "/tmp/probe/bin/python"):
        if (
            Path(candidate).exists()
            and subprocess.run([candidate, "-c", probe], check=False).returncode == 0
        ):
            return candidate
    return None


def test_missing_mlflow_package_gives_the_install_hint(project) -> None:
    python = _interpreter_without_mlflow()
    if python is None:
        pytest.skip("every Python here has mlflow installed; no real missing-package case to run")
    (commit,) = develop_commits(project, 1)
    append_record(project.git, record(commit, {"accuracy": 0.5}, "2026-01-01T00:00:00+00:00"))
    env = {**os.environ, "PYTHONPATH": str(SRC)}

    result = subprocess.run(
        [python, "-m", "torchlane", "metrics", "export", "--mlflow", "http://127.0.0.1:9",
         "-C", str(project.root)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert "MLflow (the mlflow package) is not installed" in result.stderr
    assert "hint: pip install 'torchlane[mlflow]'" in result.stderr


@pytest.mark.slow
def test_report_sink_tags_the_candidate_like_the_export(mlflow_uri, client, monkeypatch) -> None:
    from torchlane.report.sinks import send_to_mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    experiment = f"exp-{uuid.uuid4().hex[:8]}"
    candidate = record(
        "e" * 40, {"accuracy": 0.8, "loss": float("inf")}, "2026-01-01T00:00:00+00:00"
    )

    run_id = send_to_mlflow(candidate, experiment)

    run = client.get_run(run_id)
    assert run.data.metrics == {"accuracy": 0.8}
    assert run.data.tags["torchlane.nonfinite.loss"] == "inf"
    assert run.data.tags["mlflow.source.git.commit"] == "e" * 40
    assert run.data.tags["torchlane.data_fingerprint"] == "d" * 64
