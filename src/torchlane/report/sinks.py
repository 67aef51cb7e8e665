"""Optional sinks: Weights & Biases (offline) and MLflow, behind extras and lazy imports."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import sys
from types import ModuleType
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.metrics.record import EvaluationRecord


def require(module: str, extra: str, what: str, purpose: str = "send metrics to it") -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise TorchlaneError(
            f"{what} is not installed, so torchlane cannot {purpose}.",
            f"pip install 'torchlane[{extra}]'",
        ) from exc


def wandb_run_id(record: EvaluationRecord) -> str:
    """Fixed per record: re-syncing an offline run updates it instead of adding a duplicate.

    The commit leads (searchable); a short hash of the record's time and device tells re-runs
    of the same commit apart.
    """
    device = record.environment.get("device") or ""
    tail = hashlib.sha256(f"{record.created_at}\0{device}".encode()).hexdigest()[:8]
    return f"{record.commit[:16]}-{tail}"


def _summary(record: EvaluationRecord) -> dict[str, Any]:
    return {
        "commit": record.commit,
        "branch": record.branch,
        "dirty": record.dirty,
        "data_fingerprint": record.data_fingerprint,
        "checkpoint_sha256": record.checkpoint_sha256,
        **{f"env/{k}": v for k, v in record.environment.items()},
    }


def send_to_wandb(record: EvaluationRecord, project: str, directory: str | None = None) -> str:
    wandb = require("wandb", "wandb", "Weights & Biases (the wandb package)")
    run = wandb.init(
        project=project,
        id=wandb_run_id(record),
        resume="allow",
        mode="offline",
        dir=directory,
        config=_summary(record),
        tags=[t for t in (record.branch, "dirty" if record.dirty else None) if t],
    )
    run.log(dict(record.metrics))
    run.finish()
    return wandb_run_id(record)


def send_to_mlflow(record: EvaluationRecord, experiment: str) -> str:
    """Log one record to the default tracking URI, tagged like `metrics export --mlflow`."""
    mlflow = require("mlflow", "mlflow", "MLflow (the mlflow package)")
    from torchlane.metrics.export_mlflow import run_name, run_tags, split_metrics

    finite, nonfinite = split_metrics(record.metrics)
    tags = {**run_tags(record), **nonfinite, "torchlane.run_id": wandb_run_id(record)}
    # MLflow prints run links on stdout, where the report itself may be going.
    with contextlib.redirect_stdout(sys.stderr):
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name(record), tags=tags) as run:
            mlflow.log_metrics(finite)
            return str(run.info.run_id)
