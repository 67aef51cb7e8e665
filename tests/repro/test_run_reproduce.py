"""torchlane run, then torchlane reproduce, end to end: real git, real subprocesses, real torch."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from torchlane.git import Git
from torchlane.repro.manifest import MANIFEST_NAME, PATCH_NAME, load_manifest_file

PY = sys.executable


def run_json(cli, root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli(["run", "--json", *args], cwd=root)
    return result.code, json.loads(result.out)


@pytest.mark.slow
def test_torch_training_reproduces_identically(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    code, manifest = run_json(cli, root, "--seed", "42", "--", PY, "train.py")
    assert code == 0
    assert set(manifest["outputs"]) == {"outputs/weights.pt", "outputs/metrics.json"}
    assert manifest["seed"] == 42
    assert manifest["variables"]["TORCHLANE_SEED"] == "42"
    assert manifest["commit"] == training_repo.out("rev-parse", "HEAD")
    assert manifest["branch"] == "develop"
    assert manifest["patch"] == ""
    assert set(manifest["config_files"]) == {"pyproject.toml", "configs/train.yaml"}
    assert manifest["data"]["data"] is not None
    assert manifest["environment"]["torch"] is not None
    assert manifest["metrics"]["outputs/metrics.json"]["lr"] == 0.05
    assert load_manifest_file(root / "outputs" / MANIFEST_NAME).run_id == manifest["run_id"]
    note = training_repo.out("notes", "--ref", "refs/notes/torchlane-runs", "show", "HEAD")
    assert json.loads(note)["run_id"] == manifest["run_id"]

    result = cli(["reproduce", "--yes", manifest["run_id"][:17], "--json"], cwd=root)
    report = json.loads(result.out)
    assert result.code == 0, result.err
    assert report["verdict"] == "identical"
    assert {f["path"]: f["status"] for f in report["files"]} == {
        "outputs/weights.pt": "identical",
        "outputs/metrics.json": "identical",
    }
    assert report["environment"] == []
    assert report["worktree"] is None
    assert len(training_repo.lines("worktree", "list")) == 1  # the temporary one is gone


def test_dirty_run_is_reproduced_from_its_patch_after_the_code_moved_on(
    cli, training_repo: Git
) -> None:
    root = training_repo.cwd
    training_repo.run("config", "diff.noprefix", "true")  # patches must still apply
    script = root / "plain.py"
    script.write_text(script.read_text().replace("LR = 0.1", "LR = 0.2"), encoding="utf-8")
    (root / "notes.txt").write_text("untracked scratch\n", encoding="utf-8")
    code, manifest = run_json(cli, root, "--seed", "3", "--", PY, "plain.py")
    assert code == 0
    assert "LR = 0.2" in manifest["patch"]
    assert manifest["untracked"] == ["notes.txt"]
    assert (root / "outputs" / PATCH_NAME).read_text() == manifest["patch"]
    # The code moves on: the change is committed differently, and more edits follow.
    script.write_text(script.read_text().replace("LR = 0.2", "LR = 0.7"), encoding="utf-8")
    training_repo.run("commit", "--quiet", "-am", "Tune the learning rate")
    script.write_text(script.read_text() + "\nprint('changed')\n", encoding="utf-8")

    result = cli(["reproduce", "--yes", str(root / "outputs" / MANIFEST_NAME)], cwd=root)
    assert result.code == 0, result.err
    # metrics.json carries 1e-9 of reproduction noise; model.txt must match bit for bit.
    assert "verdict: within tolerance" in result.out
    assert "untracked file(s)" in result.err
    assert script.read_text().endswith("print('changed')\n")  # the checkout was not touched
    strict = cli(["reproduce", "--yes", manifest["run_id"], "--rtol", "0", "--atol", "0"], cwd=root)
    assert strict.code == 1
    assert "verdict: different: outputs/metrics.json" in strict.out


def test_reproduce_detects_changed_data(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    code, manifest = run_json(cli, root, "--seed", "9", "--", PY, "plain.py")
    assert code == 0
    (root / "data" / "scale.txt").write_text("4.0\n", encoding="utf-8")
    result = cli(["reproduce", "--yes", manifest["run_id"], "--json"], cwd=root)
    report = json.loads(result.out)
    assert result.code == 1
    assert report["verdict"] == "different"
    assert {f["path"]: f["status"] for f in report["files"]} == {
        "outputs/model.txt": "different",
        "outputs/metrics.json": "different",
    }
    assert "data data has changed since the run" in report["notes"]


def test_exit_code_is_passed_through_and_recorded(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    code, manifest = run_json(
        cli, root, "--output", "outputs/fail", "--", PY, "-c", "import sys; sys.exit(3)"
    )
    assert code == 3
    assert manifest["exit_code"] == 3
    assert manifest["output_dirs"] == ["outputs/fail"]
    assert manifest["outputs"] == {}


def test_stale_files_in_the_output_directory_are_not_outputs(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    (root / "outputs").mkdir()
    (root / "outputs" / "old-checkpoint.pt").write_bytes(b"from an earlier run")
    code, manifest = run_json(cli, root, "--seed", "1", "--", PY, "plain.py")
    assert code == 0
    assert set(manifest["outputs"]) == {"outputs/model.txt", "outputs/metrics.json"}
