"""`torchlane model register --mlflow URI`: the bound models as versions in MLflow's Model Registry.

The registered model is named after the project. Each release becomes one model version whose
source is an MLflow run (experiment: the project's name, run name: the tag) that holds the
checkpoint as an artifact, with the release's metrics: MLflow's server accepts a local file as a
version's source only inside a run's artifacts. The version carries the tag, commit and digest
as tags, and an alias made from the tag (`v1.4.0` -> `v1_4_0`: aliases allow letters, digits,
`_` and `-`, and `v<N>` alone is reserved). A version whose `torchlane.digest` and alias already
match is left alone, so registering again changes nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from torchlane.errors import TorchlaneError
from torchlane.fingerprint import sha256_file
from torchlane.models.binding import ModelBinding
from torchlane.models.ops import all_bindings, find_binding, local_copy, open_store, require_model
from torchlane.project import Project

Action = Literal["registered", "unchanged"]


@dataclass(frozen=True)
class RegisteredVersion:
    tag: str
    alias: str
    version: str
    action: Action
    run_id: str | None


@dataclass(frozen=True)
class RegisterResult:
    tracking_uri: str
    model: str
    versions: list[RegisteredVersion]


def project_name(project: Project) -> str:
    """[project] name of pyproject.toml, else the repository's directory name."""
    from torchlane.config.source import read_toml

    pyproject = project.root / "pyproject.toml"
    name = read_toml(pyproject).get("project", {}).get("name") if pyproject.is_file() else None
    return str(name) if name else project.root.name


def alias_for(tag: str) -> str:
    alias = re.sub(r"[^\w-]", "_", tag)
    if alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias) or not alias:
        alias = f"release-{alias}"
    return alias


def _checkpoint_file(project: Project, binding: ModelBinding, folder: Path) -> Path:
    digest = require_model(binding)
    local = local_copy(project, binding)
    # Under the checkpoint's own name: the artifact's name is what people see in MLflow.
    target = folder / (binding.file_name or f"{digest}.pt")
    if local is not None:
        shutil.copyfile(local, target)
    else:
        open_store(project).get(digest, target)
    if sha256_file(target) != digest:
        raise TorchlaneError(
            f"The store's file for {binding.tag} does not match its digest; nothing registered.",
            f"Push it again from a clone that has it: `torchlane model push {binding.tag}`.",
        )
    return target


def _version_tags(binding: ModelBinding) -> dict[str, str]:
    tags = {
        "torchlane.tag": binding.tag,
        "torchlane.commit": binding.commit,
        "torchlane.digest": str(binding.digest),
        "torchlane.weights_digest": str(binding.weights_digest),
        "torchlane.data_fingerprint": str(binding.data_fingerprint),
        "mlflow.source.git.commit": binding.commit,
    }
    for name, value in binding.metrics.items():
        tags[f"torchlane.metric.{name}"] = repr(value)
    return tags


def _register_one(
    client: Any, model: str, experiment_id: str, project: Project, binding: ModelBinding
) -> RegisteredVersion:
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException

    alias = alias_for(binding.tag)
    try:
        current = client.get_model_version_by_alias(model, alias)
    except MlflowException:
        current = None
    if current is not None and current.tags.get("torchlane.digest") == binding.digest:
        return RegisteredVersion(binding.tag, alias, str(current.version), "unchanged", None)
    # A version of this very release made before (its alias missing, e.g. a run that failed
    # half-way): reuse it instead of adding a duplicate.
    found = client.search_model_versions(f"name='{model}'")
    same = [
        v
        for v in found
        if v.tags.get("torchlane.tag") == binding.tag
        and v.tags.get("torchlane.digest") == binding.digest
    ]
    if same:
        version = same[0]
        client.set_registered_model_alias(model, alias, version.version)
        return RegisteredVersion(binding.tag, alias, str(version.version), "registered", None)
    tags = _version_tags(binding)
    run = client.create_run(experiment_id, run_name=binding.tag, tags=tags)
    run_id = str(run.info.run_id)
    with tempfile.TemporaryDirectory(prefix="torchlane-register-") as folder:
        checkpoint = _checkpoint_file(project, binding, Path(folder))
        client.log_artifact(run_id, str(checkpoint), artifact_path="model")
    finite = [Metric(k, v, 0, 0) for k, v in binding.metrics.items() if math.isfinite(v)]
    if finite:
        client.log_batch(run_id, metrics=finite)
    client.set_terminated(run_id, "FINISHED")
    name = binding.file_name or f"{binding.digest}.pt"
    version = client.create_model_version(
        model, f"runs:/{run_id}/model/{name}", run_id=run_id, tags=tags,
        description=f"{binding.tag} ({binding.commit[:12]}), sha256 {binding.digest}",
    )  # fmt: skip
    client.set_registered_model_alias(model, alias, version.version)
    return RegisteredVersion(binding.tag, alias, str(version.version), "registered", run_id)


def register_models(
    project: Project, tags: list[str], tracking_uri: str, name: str | None = None
) -> RegisterResult:
    from torchlane.report.sinks import require

    require("mlflow", "mlflow", "MLflow (the mlflow package)")
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    bindings = [find_binding(project, t) for t in tags] if tags else all_bindings(project)
    bindings = [b for b in bindings if not b.no_model or tags]
    for binding in bindings:
        require_model(binding)
    model = name or project_name(project)
    versions: list[RegisteredVersion] = []
    defaults = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    added = [k for k in defaults if k not in os.environ]
    os.environ.update({k: defaults[k] for k in added})
    try:
        with contextlib.redirect_stdout(sys.stderr):
            client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
            try:
                client.get_registered_model(model)
            except MlflowException:
                client.create_registered_model(model, tags={"torchlane.project": model})
            experiment = client.get_experiment_by_name(model)
            experiment_id = (
                str(client.create_experiment(model))
                if experiment is None
                else str(experiment.experiment_id)
            )
            for binding in bindings:
                versions.append(_register_one(client, model, experiment_id, project, binding))
    except (MlflowException, OSError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        done = f" ({len(versions)} release(s) were registered before it failed)" if versions else ""
        raise TorchlaneError(
            f"The MLflow server at {tracking_uri} could not register the models: {text}{done}",
            "Check the URI, that `mlflow server` runs there with a model registry (a database "
            "backend), and your credentials; registering again skips what is already there.",
        ) from exc
    finally:
        for key in added:
            os.environ.pop(key, None)
    return RegisterResult(tracking_uri, model, versions)
