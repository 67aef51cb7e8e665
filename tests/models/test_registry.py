"""`torchlane model register --mlflow URI` against a real `mlflow server` (SQLite backend)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.metrics.mlflow_server import running_server
from tests.models.conftest import release
from torchlane.fingerprint import sha256_file
from torchlane.models.registry import alias_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow-server")]


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    with running_server(tmp_path_factory.mktemp("mlflow-registry")) as url:
        yield url


def test_register_is_idempotent_and_carries_tag_commit_digest_metrics(
    model_project: Project, cli, mlflow_uri: str, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    root = model_project.root
    assert release(cli, model_project, "v1.0.0").code == 0
    binding = json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=root).out)
    first = cli(["model", "register", "--mlflow", mlflow_uri, "--name", "tiny", "--json"], cwd=root)
    assert first.code == 0, first.err
    [registered] = json.loads(first.out)["versions"]
    assert registered["action"] == "registered"
    assert registered["alias"] == "v1_0_0"
    again = cli(["model", "register", "--mlflow", mlflow_uri, "--name", "tiny"], cwd=root)
    assert again.code == 0, again.err
    assert "(unchanged)" in again.out

    client = MlflowClient(tracking_uri=mlflow_uri, registry_uri=mlflow_uri)
    versions = client.search_model_versions("name='tiny'")
    assert len(versions) == 1
    version = client.get_model_version_by_alias("tiny", "v1_0_0")
    assert version.tags["torchlane.tag"] == "v1.0.0"
    assert version.tags["torchlane.commit"] == binding["commit"]
    assert version.tags["torchlane.digest"] == binding["digest"]
    assert float(version.tags["torchlane.metric.accuracy"]) == binding["metrics"]["accuracy"]
    run = client.get_run(version.run_id)
    assert run.data.metrics["accuracy"] == pytest.approx(binding["metrics"]["accuracy"])
    folder = client.download_artifacts(version.run_id, "model", str(tmp_path / "artifact"))
    assert sha256_file(Path(folder) / "model.pt") == binding["digest"]


def test_an_unreachable_server_is_one_clear_error(model_project: Project, cli) -> None:
    from tests.metrics.mlflow_server import free_port

    root = model_project.root
    assert release(cli, model_project, "v1.0.0").code == 0
    uri = f"http://127.0.0.1:{free_port()}"
    refused = cli(["model", "register", "--mlflow", uri], cwd=root)
    assert refused.code == 1
    assert f"The MLflow server at {uri} could not register" in refused.err


@pytest.mark.parametrize(
    ("tag", "alias"),
    [("v1.4.0", "v1_4_0"), ("v2", "release-v2"), ("latest", "release-latest"), ("1.0", "1_0")],
)
def test_aliases_are_valid_mlflow_aliases(tag: str, alias: str) -> None:
    assert alias_for(tag) == alias
