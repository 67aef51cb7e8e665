"""A project configured for a cluster, pushed to its origin; and the validators manifests face."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Project, commit_pyproject

DATA = Path(__file__).parent / "data"

# What the cluster clones: a URL, never a path (which the pods could not reach). The tests push to
# the bare origin (push URL) and clone the URL through an insteadOf rule (`redirect_to_origin`).
CLUSTER_URL = "https://git.example.com/team/vision-mirror.git"

CLUSTER_CONFIG = """\
[project]
name = "vision"

[tool.torchlane.env]
python = "3.11"
torch = "2.13.0"
accelerator = "cuda12.8"

[tool.torchlane.cluster]
namespace = "vision"
gpus = 2
node_selector = { "nvidia.com/gpu.product" = "NVIDIA-A100-SXM4-80GB" }
tolerations = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
service_account = "trainer"
image_pull_secrets = ["registry"]
secrets = [{ name = "wandb", key = "api-key", env = "WANDB_API_KEY" }]
git_credentials = { name = "git-credentials" }
backoff_limit = 2
ttl_seconds_after_finished = 3600

[tool.torchlane.cluster.requests]
cpu = "8"
memory = "32Gi"

[tool.torchlane.cluster.limits]
cpu = "16"
memory = "64Gi"

[tool.torchlane.cluster.train]
workers = 3
elastic = { min_replicas = 2, max_replicas = 6 }

[tool.torchlane.cluster.quotas]
namespace_prefix = "team-"
default_request = { cpu = "500m", memory = "2Gi" }

[tool.torchlane.team]
server_gpus = 8

[tool.torchlane.team.members.alice_w]
gpus = [0, 1]
memory = "64g"
cpus = 8
jupyter_port = 8890
tensorboard_port = 6010

[tool.torchlane.team.members.carol]
jupyter_port = 8891
tensorboard_port = 6011

[tool.torchlane.team.members.dave]
jupyter_port = 8892
tensorboard_port = 6012

[tool.torchlane.team.groups.vision]
members = ["carol", "dave"]
gpus = 4
memory = "1t"
cpus = 24.5
"""


def reachable_origin(project: Project) -> None:
    """origin fetches from a URL a cluster could reach, and pushes to the bare repository."""
    project.git.run("remote", "set-url", "origin", CLUSTER_URL)
    project.git.run("remote", "set-url", "--push", "origin", str(project.origin))


def redirect_to_origin(project: Project) -> None:
    """Clones of the cluster's URL (the checkout container's) reach the bare origin."""
    project.git.run("config", "--global", f"url.{project.origin}.insteadOf", CLUSTER_URL)


@pytest.fixture
def cluster_project(project: Project) -> Project:
    """On feature/resnet-depth, with the cluster configuration committed and pushed."""
    reachable_origin(project)
    project.git.run("switch", "--quiet", "--create", "feature/resnet-depth", "develop")
    commit_pyproject(project, CLUSTER_CONFIG, "Configure the cluster")
    project.git.run("push", "--quiet", "--set-upstream", "origin", "feature/resnet-depth")
    return project


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """The PyPI validator, strict (unknown fields are errors), with its bundled schemas."""
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _strict(schema: Any) -> Any:
    """Kubernetes' strict field validation: an object schema that lists its properties rejects
    others (a structural CRD schema otherwise prunes them silently)."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def pytorchjob_schema() -> dict[str, Any]:
    documents = list(yaml.safe_load_all((DATA / "kubeflow.org_pytorchjobs.yaml").read_text()))
    (crd,) = documents
    (v1,) = [version for version in crd["spec"]["versions"] if version["name"] == "v1"]
    schema: dict[str, Any] = _strict(v1["schema"]["openAPIV3Schema"])
    return schema
