"""Manifests for one commit: a batch/v1 Job (eval, run) and a Kubeflow PyTorchJob (train); the
teams' quotas are in torchlane.cluster.quotas. Plain dicts, dumped as YAML."""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torchlane.ci.common import ENSURE_GIT, ci_image
from torchlane.cluster.pods import Manifest, install_script, pod_template, shell_command
from torchlane.cluster.target import Target, label_value
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import usage_error

Kind = Literal["eval", "run", "train", "quotas"]
MANAGED_BY = {"app.kubernetes.io/managed-by": "torchlane"}
# PyTorchJob names become Service and pod names with '-master-0'/'-worker-N' appended (DNS-1035).
MAX_NAME = 48
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
# The training operator finds the training container by this name.
PYTORCH_CONTAINER = "pytorch"
TORCHRUN = (("torchrun",), ("python", "-m", "torch.distributed.run"))
# The operator tells each pod where the Master is as MASTER_ADDR/MASTER_PORT, but torchrun reads
# only PET_MASTER_ADDR/PET_MASTER_PORT (and otherwise waits on 127.0.0.1:29500): hand them over.
TORCHRUN_BRIDGE = (
    'if [ -n "${MASTER_ADDR:-}" ]; then export PET_MASTER_ADDR="${PET_MASTER_ADDR:-$MASTER_ADDR}"; fi',
    'if [ -n "${MASTER_PORT:-}" ]; then export PET_MASTER_PORT="${PET_MASTER_PORT:-$MASTER_PORT}"; fi',
)
LEAD_LABEL = "torchlane/lead"
# The operator reads the Master's port from the `pytorch` container's port of this name.
PYTORCH_PORT = {"name": "pytorchjob-port", "containerPort": 23456, "protocol": "TCP"}


@dataclass(frozen=True, kw_only=True)
class Rendered:
    kind: Kind
    name: str | None  # the Job's or PyTorchJob's name; None for quotas
    commit: str | None
    branch: str | None
    documents: list[Manifest] = field(default_factory=list)
    path: Path | None = None  # where it was written, when it was


def to_yaml(rendered: Rendered) -> str:
    from torchlane.yamlout import dump_all

    what = f" at {rendered.commit}" if rendered.commit else ""
    header = f"# Rendered by `torchlane cluster render {rendered.kind}`{what}.\n"
    return header + dump_all(rendered.documents)


def job_name(target: Target, kind: Kind, command: tuple[str, ...], name: str | None) -> str:
    if name is not None:
        if len(name) > MAX_NAME or not _DNS_1035.fullmatch(name):
            raise usage_error(
                f"'{name}' cannot name a job: use lowercase letters, digits and '-', starting "
                f"with a letter, at most {MAX_NAME} characters.",
                "For example --name resnet-sweep-3.",
            )
        return name
    parts = [target.project, kind, target.commit[:8]]
    if command:  # the same commit may run several commands: keep their jobs apart
        parts.append(hashlib.sha256("\0".join(command).encode()).hexdigest()[:6])
    return "-".join(parts)


def _labels(target: Target, kind: Kind, name: str) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": target.project,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": kind,
        **MANAGED_BY,
        "torchlane/commit": target.commit,
    }
    branch = label_value(target.branch) if target.branch else None
    if branch:
        labels["torchlane/branch"] = branch
    return labels


def _metadata(name: str, namespace: str | None, labels: dict[str, str], target: Target) -> Manifest:
    metadata: Manifest = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = labels
    annotations = {"torchlane/repository": target.repository}
    if target.branch:
        annotations["torchlane/branch"] = target.branch  # the exact name; the label is sanitized
    metadata["annotations"] = annotations
    return metadata


def _job_script(config: TorchlaneConfig, kind: Kind) -> list[str]:
    script = [ENSURE_GIT, *install_script(config)]
    push = config.cluster.push_results
    warn = 'echo "torchlane: could not push the results; they are in this pod only" >&2'
    if kind == "eval":
        script.append("python -m torchlane eval")
        if push:
            script.append(f"python -m torchlane metrics push || {warn}")
        script.append("python -m torchlane gate")
    else:
        script.append('status=0; python -m torchlane run -- "$@" || status=$?')
        if push:
            notes = config.repro.notes_ref
            script.append(
                f"python -m torchlane metrics push --notes-ref {shlex.quote(notes)} || {warn}"
            )
        script.append('exit "$status"')
    return script


def _image(config: TorchlaneConfig) -> str:
    return config.cluster.image or ci_image(config)


def batch_job(
    config: TorchlaneConfig,
    target: Target,
    kind: Literal["eval", "run"],
    *,
    command: tuple[str, ...],
    name: str,
    namespace: str | None,
) -> Manifest:
    cluster = config.cluster
    labels = _labels(target, kind, name)
    template = pod_template(
        config,
        target,
        labels=labels,
        container="main",
        command=shell_command(_job_script(config, kind), command),
        image=_image(config),
    )
    template["spec"]["restartPolicy"] = "Never"
    spec: Manifest = {"backoffLimit": cluster.backoff_limit}
    if cluster.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = cluster.ttl_seconds_after_finished
    if cluster.active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = cluster.active_deadline_seconds
    spec["template"] = template
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(name, namespace, labels, target),
        "spec": spec,
    }


def _training_command(command: tuple[str, ...]) -> tuple[str, ...]:
    """torchrun reads the PET_* variables the operator sets (nodes, rank, rendezvous), so a
    plain `train.py --lr 3e-4` becomes `torchrun train.py --lr 3e-4`."""
    if any(command[: len(prefix)] == prefix for prefix in TORCHRUN):
        return command
    return ("torchrun", *command)


def pytorch_job(
    config: TorchlaneConfig,
    target: Target,
    *,
    command: tuple[str, ...],
    name: str,
    namespace: str | None,
) -> Manifest:
    cluster, train = config.cluster, config.cluster.train
    labels = _labels(target, "train", name)
    script = [*install_script(config), *TORCHRUN_BRIDGE, 'exec "$@"']

    def template(lead: bool) -> Manifest:
        # `torchlane cluster logs` reads the lead pod: the Master, or in an elastic job (workers
        # only, as the operator's rendezvous runs on worker-0) the first worker.
        pod = pod_template(
            config,
            target,
            labels={**labels, LEAD_LABEL: "true"} if lead else labels,
            container=PYTORCH_CONTAINER,
            command=shell_command(script, _training_command(command)),
            image=_image(config),
        )
        pod["spec"]["containers"][0]["ports"] = [dict(PYTORCH_PORT)]
        return pod

    elastic = train.elastic is not None
    replicas: Manifest = {}
    if not elastic:
        replicas["Master"] = {
            "replicas": 1,
            "restartPolicy": "OnFailure",
            "template": template(True),
        }
    if train.workers:
        replicas["Worker"] = {
            "replicas": train.workers,
            "restartPolicy": "OnFailure",
            "template": template(elastic),
        }
    run_policy: Manifest = {"cleanPodPolicy": "None", "backoffLimit": cluster.backoff_limit}
    if cluster.ttl_seconds_after_finished is not None:
        run_policy["ttlSecondsAfterFinished"] = cluster.ttl_seconds_after_finished
    if cluster.active_deadline_seconds is not None:
        run_policy["activeDeadlineSeconds"] = cluster.active_deadline_seconds
    spec: Manifest = {"nprocPerNode": train.nproc_per_node}
    if train.elastic is not None:
        spec["elasticPolicy"] = {
            "minReplicas": train.elastic.min_replicas,
            "maxReplicas": train.elastic.max_replicas,
            "rdzvBackend": train.elastic.rdzv_backend,
            "maxRestarts": train.elastic.max_restarts,
        }
    spec["runPolicy"] = run_policy
    spec["pytorchReplicaSpecs"] = replicas
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": _metadata(name, namespace, labels, target),
        "spec": spec,
    }
