"""Mirror evaluation records to an MLflow tracking server: one run per record, never twice.

MLflow accepts non-finite metrics but does not keep them faithfully: a NaN comes back as NaN,
but ±inf comes back as ±1.8e308 (checked against mlflow 3.17's server with a SQLite store), a
number that wrecks every chart of that metric. So only finite values are logged as
metrics; a non-finite one becomes the tag `torchlane.nonfinite.<metric>` = nan, inf or -inf and
stays visible without pretending to be a measurement.

A run is created, filled, and only then given its `torchlane.record` key: a run that failed
half-way has no key, is deleted if possible, and the next export makes it again.
"""

from __future__ import annotations

import contextlib
import math
import os
import posixpath
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from torchlane.errors import TorchlaneError
from torchlane.metrics.mlflow_records import ExportItem
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.store import NoteProblem
from torchlane.report.sinks import require

KEY_TAG = "torchlane.record"
# MLflow's per-request limits for log-batch.
_MAX_METRICS_PER_BATCH = 1000
_MAX_TAGS_PER_BATCH = 100
# MLflow retries a refused connection 7 times with exponential backoff (minutes in all); a
# command-line export should say "cannot reach" within seconds. Settings the user made win.
# MLflow also prints run links to stdout when a run ends, which would break `--json`.
_MLFLOW_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}

# MLflow's rule for metric names (mlflow.utils.validation, POSIX servers), checked before anything
# is sent so that one odd name does not stop an export half-way.
_METRIC_NAME = re.compile(r"[/\w.\- :]{1,250}")

Action = Literal["created", "skipped", "would create"]


@dataclass(frozen=True, kw_only=True)
class ExportedRun:
    key: str
    commit: str
    created_at: str
    step: int
    action: Action
    run_id: str | None  # None for "would create"


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    tracking_uri: str
    experiment: str
    experiment_id: str | None  # None when a dry run found no such experiment yet
    dry_run: bool
    created: int
    skipped: int
    would_create: int  # by a dry run
    runs: list[ExportedRun]
    problems: list[NoteProblem] = field(default_factory=list)


def run_name(record: EvaluationRecord) -> str:
    return record.commit[:12]


def split_metrics(metrics: dict[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """Finite values (logged as metrics) and the tags that stand for the non-finite ones."""
    finite = {name: value for name, value in metrics.items() if math.isfinite(value)}
    tags = {
        f"torchlane.nonfinite.{name}": "nan" if math.isnan(value) else f"{value:+}".lstrip("+")
        for name, value in metrics.items()
        if not math.isfinite(value)
    }
    return finite, tags


def run_tags(record: EvaluationRecord) -> dict[str, str]:
    """What MLflow shows about the evaluation; absent facts are left out, not written empty."""
    tags: dict[str, str | None] = {
        "mlflow.source.git.commit": record.commit,
        "mlflow.source.git.branch": record.branch,
        "torchlane.commit": record.commit,
        "torchlane.branch": record.branch,
        # MLflow records no dirty flag of its own (mlflow/mlflow#7017).
        "torchlane.dirty": str(record.dirty).lower(),
        "torchlane.created_at": record.created_at or None,
        "torchlane.checkpoint_sha256": record.checkpoint_sha256,
        "torchlane.data_fingerprint": record.data_fingerprint,
        "torchlane.seed": None if record.seed is None else str(record.seed),
        "torchlane.version": record.torchlane_version or None,
        **{f"torchlane.env.{name}": value for name, value in record.environment.items()},
    }
    return {name: str(value) for name, value in tags.items() if value}


def check_metric_names(items: list[ExportItem]) -> None:
    for item in items:
        for name in item.record.metrics:
            normal = posixpath.normpath(name)
            path_like = normal != name or normal == "." or normal.startswith(("..", "/"))
            if _METRIC_NAME.fullmatch(name) and not path_like:
                continue
            raise TorchlaneError(
                f"MLflow does not accept the metric name {name!r} (record of "
                f"{item.record.commit[:12]} at {item.record.created_at or 'an unknown time'}).",
                "MLflow allows letters, digits, _ - . : / and spaces, up to 250 characters, and "
                "no path tricks; limit the export with --since or --branch to skip that record.",
            )


def _millis(created_at: str) -> int:
    try:
        moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return int(time.time() * 1000)
    return int(moment.timestamp() * 1000)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# What a connection failure says, deep inside MLflow's "API request ... failed" message.
_UNREACHABLE = re.compile(
    r"Connection refused|Name or service not known|nodename nor servname|No route to host|"
    r"Temporary failure in name resolution|timed out|Connection reset|Connection aborted"
)


def _server_error(uri: str, exc: Exception, created: int) -> TorchlaneError:
    text = str(exc).strip()
    done = f" {created} run(s) were created before it failed." if created else ""
    again = "then export again (runs already created are skipped)."
    cause = _UNREACHABLE.search(text)
    if cause is not None or "Max retries exceeded" in text:
        why = cause.group(0) if cause else "no answer"
        return TorchlaneError(
            f"Cannot reach the MLflow tracking server at {uri} ({why}).{done}",
            f"Check the URI and that `mlflow server` runs there; {again}",
        )
    reason = text.splitlines()[0] if text else type(exc).__name__
    if len(reason) > 300:
        reason = reason[:300] + "…"
    return TorchlaneError(
        f"The MLflow tracking server at {uri} refused the export: {reason}{done}",
        "Check the URI, your credentials (MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME and "
        f"MLFLOW_TRACKING_PASSWORD) and the server's log; {again}",
    )


def _existing_run(client: Any, experiment_id: str, key: str) -> str | None:
    found = client.search_runs(
        [experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{key}'", max_results=1
    )
    return str(found[0].info.run_id) if found else None


def _create_run(client: Any, experiment_id: str, item: ExportItem) -> str:
    from mlflow.entities import Metric, RunTag

    record = item.record
    start = _millis(record.created_at)
    finite, nonfinite = split_metrics(record.metrics)
    tags = {**run_tags(record), "torchlane.on_develop": str(item.on_develop).lower()}
    run = client.create_run(experiment_id, start_time=start, tags=tags, run_name=run_name(record))
    run_id = str(run.info.run_id)
    try:
        metrics = [Metric(n, v, start, item.step) for n, v in sorted(finite.items())]
        for batch in _chunks(metrics, _MAX_METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=list(batch))
        for batch in _chunks(
            [RunTag(k, v) for k, v in sorted(nonfinite.items())], _MAX_TAGS_PER_BATCH
        ):
            client.log_batch(run_id, tags=list(batch))
        # Last: a run carrying the key is complete, so a later export may safely skip it.
        client.log_batch(run_id, tags=[RunTag(KEY_TAG, item.key)])
        client.set_terminated(run_id, "FINISHED", end_time=start)
    except BaseException:
        with contextlib.suppress(Exception):  # the original failure is what the user must see
            client.delete_run(run_id)
        raise
    return run_id


@contextlib.contextmanager
def _mlflow_defaults() -> Iterator[None]:
    """MLflow reads these at each request; set the unset ones for the export's duration only."""
    added = [name for name in _MLFLOW_DEFAULTS if name not in os.environ]
    os.environ.update({name: _MLFLOW_DEFAULTS[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _experiment_id(client: Any, experiment: str, uri: str, create: bool) -> str | None:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return str(client.create_experiment(experiment)) if create else None
    if found.lifecycle_stage == "deleted":
        raise TorchlaneError(
            f"The MLflow experiment '{experiment}' is deleted on {uri}.",
            f"Restore it (`mlflow experiments restore --experiment-id {found.experiment_id}`) "
            "or export with --experiment NAME.",
        )
    return str(found.experiment_id)


def _mirror(
    client: Any, experiment_id: str | None, items: list[ExportItem], dry_run: bool,
    runs: list[ExportedRun],
) -> None:  # fmt: skip
    """Appends to `runs` as it goes, so that a failure can still say what was created."""
    for item in items:
        existing = _existing_run(client, experiment_id, item.key) if experiment_id else None
        action: Action
        if existing is not None:
            action, run_id = "skipped", existing
        elif dry_run or experiment_id is None:
            action, run_id = "would create", None
        else:
            action, run_id = "created", _create_run(client, experiment_id, item)
        record = item.record
        runs.append(
            ExportedRun(
                key=item.key,
                commit=record.commit,
                created_at=record.created_at,
                step=item.step,
                action=action,
                run_id=run_id,
            )
        )


def export_to_mlflow(
    items: list[ExportItem],
    tracking_uri: str,
    experiment: str,
    *,
    dry_run: bool = False,
    problems: list[NoteProblem] | None = None,
) -> ExportResult:
    require("mlflow", "mlflow", "MLflow (the mlflow package)")
    check_metric_names(items)
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    runs: list[ExportedRun] = []
    experiment_id: str | None = None
    try:
        # Whatever MLflow prints goes to stderr: stdout carries torchlane's result (maybe JSON).
        with contextlib.redirect_stdout(sys.stderr), _mlflow_defaults():
            client = MlflowClient(tracking_uri=tracking_uri)
            create = bool(items) and not dry_run
            experiment_id = _experiment_id(client, experiment, tracking_uri, create)
            _mirror(client, experiment_id, items, dry_run, runs)
    except (MlflowException, OSError) as exc:  # OSError: a connection failure MLflow did not wrap
        created = sum(run.action == "created" for run in runs)
        raise _server_error(tracking_uri, exc, created) from exc

    def count(action: Action) -> int:
        return sum(run.action == action for run in runs)

    return ExportResult(
        tracking_uri=tracking_uri, experiment=experiment, experiment_id=experiment_id, dry_run=dry_run, created=count("created"), skipped=count("skipped"),
        would_create=count("would create"), runs=runs, problems=problems or [],
    )  # fmt: skip
