"""The model store: push what a release bound, pull it verified in another clone, anywhere
fsspec reaches (a shared directory, memory://, S3 through a local moto server)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.flow.finish_helpers import clone
from tests.models.conftest import release
from torchlane.fingerprint import sha256_file

pytestmark = pytest.mark.slow


def _released_and_pushed(model_project: Project, cli) -> dict[str, Any]:
    finished = release(cli, model_project, "v1.0.0")
    assert finished.code == 0, finished.err
    pushed = cli(["model", "push"], cwd=model_project.root)
    assert pushed.code == 0, pushed.err
    assert "v1.0.0: uploaded" in pushed.out
    return json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=model_project.root).out)


def test_clone_b_pulls_the_released_bytes_and_reproduces_the_weights(
    model_project: Project, cli, tmp_path: Path
) -> None:
    binding = _released_and_pushed(model_project, cli)
    digest = binding["digest"]
    stored = tmp_path / "store" / "sha256" / digest
    assert sha256_file(stored) == digest
    again = cli(["model", "push", "v1.0.0"], cwd=model_project.root)
    assert "already in the store" in again.out

    # What finish's summary says to run: the release's branches and its tag.
    model_project.git.run("push", "--quiet", "origin", "main", "develop", "refs/tags/v1.0.0")
    other = clone(model_project.origin, tmp_path / "clone-b")
    pulled = cli(["model", "pull", "v1.0.0", "--json"], cwd=other.cwd)
    assert pulled.code == 0, pulled.err
    result = json.loads(pulled.out)
    target = other.cwd / "checkpoints" / "model.pt"
    assert result["path"] == str(target.resolve())
    original = model_project.root / "checkpoints" / "model.pt"
    assert target.read_bytes() == original.read_bytes()
    # The binding travelled through the remote's notes; so did the training run's manifest.
    shown = json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=other.cwd).out)
    assert shown["digest"] == digest
    run_id = shown["run"]["run_id"]
    reproduced = cli(["reproduce", run_id, "--yes", "--json"], cwd=other.cwd)
    assert reproduced.code == 0, reproduced.err
    report = json.loads(reproduced.out)
    assert report["verdict"] == "identical"
    [weights] = [f for f in report["files"] if f["path"] == "checkpoints/model.pt"]
    assert weights["status"] == "identical"

    listed = json.loads(cli(["model", "list", "--json"], cwd=other.cwd).out)
    assert listed[0]["tag"] == "v1.0.0"
    assert listed[0]["digest"] == digest
    assert set(listed[0]["metrics"]) == {"accuracy"}


def test_a_tampered_file_in_the_store_is_refused(
    model_project: Project, cli, tmp_path: Path
) -> None:
    binding = _released_and_pushed(model_project, cli)
    stored = tmp_path / "store" / "sha256" / binding["digest"]
    stored.write_bytes(stored.read_bytes()[:-10] + b"0123456789")
    into = tmp_path / "pulled"
    refused = cli(["model", "pull", "v1.0.0", "--to", str(into)], cwd=model_project.root)
    assert refused.code == 1
    assert "does not match its digest" in refused.err
    assert "Nothing was written" in refused.err
    assert list(into.iterdir()) == []  # no half file, no temporary left behind


def test_pull_refuses_to_overwrite_other_weights(model_project: Project, cli) -> None:
    _released_and_pushed(model_project, cli)
    root = model_project.root
    same = cli(["model", "pull", "v1.0.0"], cwd=root)
    assert same.code == 0, same.err
    assert "already there" in same.out
    checkpoint = root / "checkpoints" / "model.pt"
    checkpoint.write_bytes(b"other weights")
    refused = cli(["model", "pull", "v1.0.0"], cwd=root)
    assert refused.code == 1
    assert "--force" in refused.err
    assert checkpoint.read_bytes() == b"other weights"
    forced = cli(["model", "pull", "v1.0.0", "--force"], cwd=root)
    assert forced.code == 0, forced.err
    assert checkpoint.read_bytes() != b"other weights"


def test_diff_compares_metrics_data_and_environment(model_project: Project, cli) -> None:
    root = model_project.root
    assert release(cli, model_project, "v1.0.0").code == 0
    assert release(cli, model_project, "v1.1.0", steps=2).code == 0
    diffed = cli(["model", "diff", "v1.0.0", "v1.1.0", "--json"], cwd=root)
    assert diffed.code == 0, diffed.err
    diff = json.loads(diffed.out)
    [accuracy] = diff["metrics"]
    assert accuracy["name"] == "accuracy"
    old = json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=root).out)
    new = json.loads(cli(["model", "show", "v1.1.0", "--json"], cwd=root).out)
    assert accuracy["before"] == old["metrics"]["accuracy"]
    assert accuracy["after"] == new["metrics"]["accuracy"]
    assert diff["same_weights"] is False
    assert diff["environment"] == []  # same machine, same interpreter
    text = cli(["model", "diff", "v1.0.0", "v1.1.0"], cwd=root)
    assert "weights: different" in text.out


def test_push_without_a_store_says_how_to_set_one(model_project: Project, cli) -> None:
    root = model_project.root
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text("utf-8")
    pyproject.write_text(text.split("[tool.torchlane.models]")[0], encoding="utf-8")
    refused = cli(["model", "push"], cwd=root)
    assert refused.code == 1
    assert "No model store is configured" in refused.err
    assert "[tool.torchlane.models]" in refused.err


def _use_store(root: Path, store: str, options: str = "") -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text("utf-8").split("[tool.torchlane.models]")[0]
    extra = f"store_options = {options}\n" if options else ""
    pyproject.write_text(
        text + f'[tool.torchlane.models]\nstore = "{store}"\n{extra}', encoding="utf-8"
    )


def test_an_fsspec_url_store(model_project: Project, cli, tmp_path: Path) -> None:
    """memory:// is a real fsspec filesystem (in-process): the URL code path end to end."""
    root = model_project.root
    finished = release(cli, model_project, "v1.0.0")
    assert finished.code == 0, finished.err
    _use_store(root, "memory://team-models")
    pushed = cli(["model", "push", "--json"], cwd=root)
    assert pushed.code == 0, pushed.err
    [model] = json.loads(pushed.out)["models"]
    assert model["location"].endswith(f"team-models/sha256/{model['digest']}")
    pulled = cli(["model", "pull", "v1.0.0", "--to", str(tmp_path / "out")], cwd=root)
    assert pulled.code == 0, pulled.err
    assert sha256_file(tmp_path / "out" / "model.pt") == model["digest"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_s3_store_on_a_local_moto_server(
    model_project: Project, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("s3fs", reason="s3fs is not installed (pyproject's dev extra has it)")
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        import s3fs

        s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}).mkdir("models")
        root = model_project.root
        assert release(cli, model_project, "v1.0.0").code == 0
        _use_store(
            root, "s3://models/team", f'{{ client_kwargs = {{ endpoint_url = "{endpoint}" }} }}'
        )
        pushed = cli(["model", "push"], cwd=root)
        assert pushed.code == 0, pushed.err
        pulled = cli(["model", "pull", "v1.0.0", "--to", str(tmp_path / "out")], cwd=root)
        assert pulled.code == 0, pulled.err
        original = root / "checkpoints" / "model.pt"
        assert (tmp_path / "out" / "model.pt").read_bytes() == original.read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=10)
