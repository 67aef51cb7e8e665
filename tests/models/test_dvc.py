"""DVC-tracked data with the real `dvc` and a local DVC remote: fingerprints from DVC's hashes,
a `dvc repro` stage as the checkpoint command, and `reproduce` restoring the data version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project, commit_file
from torchlane.git import Git

pytestmark = pytest.mark.slow


def _dvc_program() -> str:
    pytest.importorskip("dvc", reason="dvc is not installed (the dvc extra)")
    found = shutil.which(
        "dvc", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    if found is None:
        pytest.skip("the dvc package is installed but its `dvc` command is not on PATH")
    return found


def dvc(root: Path, *args: str) -> str:
    done = subprocess.run(
        [_dvc_program(), *args],
        cwd=root,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def dvc_init(root: Path, remote: Path) -> None:
    dvc(root, "init", "--quiet")
    dvc(root, "config", "core.analytics", "false")
    dvc(root, "remote", "add", "--default", "local", str(remote))


def _md5_of(dvcfile: Path) -> str:
    import yaml

    return str(yaml.safe_load(dvcfile.read_text("utf-8"))["outs"][0]["md5"])


TRAIN_ON_DATA = """\
import os
scale = float(open("data/scale.txt").read())
seed = int(os.environ["TORCHLANE_SEED"])
out = os.environ["TORCHLANE_OUTPUT"]
with open(os.path.join(out, "model.txt"), "w") as f:
    f.write(repr(scale * (seed + 1)))
"""


def test_reproduce_restores_the_recorded_data_version_with_dvc(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dvc_program()
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    root = tmp_path / "project"
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "develop")
    dvc_init(root, tmp_path / "dvc-remote")
    (root / ".gitignore").write_text("outputs/\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[tool.torchlane.repro]\ndata = ["data"]\n', encoding="utf-8"
    )
    (root / "train.py").write_text(TRAIN_ON_DATA, encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "scale.txt").write_text("3.0\n", encoding="utf-8")
    dvc(root, "add", "data")
    dvc(root, "push")
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "Training on DVC-tracked data")
    recorded = cli(["run", "--seed", "1", "--json", "--", sys.executable, "train.py"], cwd=root)
    assert recorded.code == 0, recorded.err
    manifest = json.loads(recorded.out)
    # The manifest's data version is DVC's own hash of the directory, not a re-hash of it.
    assert manifest["data"] == {"data": f"dvc-md5:{_md5_of(root / 'data.dvc')}"}
    run_id = manifest["run_id"]

    # The data moves on (a new version, pushed), and the code with it.
    (root / "data" / "scale.txt").write_text("5.0\n", encoding="utf-8")
    dvc(root, "add", "data")
    dvc(root, "push")
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "New data version")

    reproduced = cli(["reproduce", run_id, "--yes", "--json"], cwd=root)
    assert reproduced.code == 0, reproduced.err
    result = json.loads(reproduced.out)
    assert result["verdict"] == "identical"
    assert result["data_restored"] == ["data restored with `dvc checkout` from the local DVC cache"]
    assert not any("data" in note for note in result["notes"])
    # The user's checkout keeps its own (newer) data.
    assert (root / "data" / "scale.txt").read_text("utf-8") == "5.0\n"

    # Without the local cache, the remote gives the data version back.
    shutil.rmtree(root / ".dvc" / "cache")
    pulled = cli(["reproduce", run_id, "--yes", "--json"], cwd=root)
    assert pulled.code == 0, pulled.err
    again = json.loads(pulled.out)
    assert again["verdict"] == "identical"
    assert again["data_restored"] == ["data restored with `dvc pull` from the DVC remote"]


DVC_STAGE = """\
stages:
  train:
    cmd: python train.py
    deps:
      - train.py
      - steps.txt
    outs:
      - checkpoints/model.pt
"""


def test_a_dvc_project_releases_with_a_dvc_repro_checkpoint_and_dvc_data_hashes(
    model_project: Project, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dvc_program()
    # The stage's `python` is this interpreter (the one with torch), as in an activated venv.
    monkeypatch.setenv(
        "PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    root, git = model_project.root, model_project.git
    dvc_init(root, tmp_path / "dvc-remote")
    (root / "data").mkdir()
    (root / "data" / "labels.csv").write_text("id,label\n1,0\n2,1\n", encoding="utf-8")
    dvc(root, "add", "data")
    (root / "dvc.yaml").write_text(DVC_STAGE, encoding="utf-8")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text("utf-8").replace(
            'checkpoint = "checkpoints/model.pt"',
            'checkpoint = "checkpoints/model.pt"\ncheckpoint_command = "dvc repro train"\n'
            'data_paths = ["data"]',
        ),
        encoding="utf-8",
    )
    dvc(root, "repro", "train")  # dvc.lock: the stage's recorded outputs
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "Data and training under DVC")
    started = cli(["start", "release", "v1.0.0"], cwd=root)
    assert started.code == 0, started.err
    commit_file(git, "VERSION", "1.0.0\n")
    evaluated = cli(["eval", "--json"], cwd=root)
    assert evaluated.code == 0, evaluated.err
    record = json.loads(evaluated.out)["record"]
    assert record["data_fingerprint"].startswith("dvc:")
    finished = cli(["finish", "release/v1.0.0"], cwd=root)
    assert finished.code == 0, finished.err
    binding = json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=root).out)
    assert binding["data_fingerprint"] == record["data_fingerprint"]
    import yaml

    lock = yaml.safe_load((root / "dvc.lock").read_text("utf-8"))
    [out] = lock["stages"]["train"]["outs"]
    assert out["path"] == "checkpoints/model.pt"
    assert binding["checkpoint_path"] == "checkpoints/model.pt"


def test_dvc_hashes_cover_nested_and_partial_paths(tmp_path: Path) -> None:
    from torchlane.models.dvc import dvc_fingerprint, dvc_hash

    root = tmp_path
    (root / ".dvc").mkdir()
    (root / "data").mkdir()
    (root / "data" / "a.csv.dvc").write_text("outs:\n- md5: aaa\n  path: a.csv\n", encoding="utf-8")
    (root / "data" / "a.csv").write_text("1\n", encoding="utf-8")
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  prep:\n    cmd: x\n    outs:\n    - path: data/b\n"
        "      md5: bbb.dir\n",
        encoding="utf-8",
    )
    (root / "data" / "b").mkdir()
    (root / "data" / "b" / "x.bin").write_bytes(b"x")
    assert dvc_hash(root, "data/a.csv") == "dvc-md5:aaa"
    assert dvc_hash(root, "data/b/x.bin") == "dvc-md5:bbb.dir"  # inside a tracked directory
    whole = dvc_hash(root, "data")
    assert whole is not None
    assert whole.startswith("dvc-md5s:")
    assert dvc_fingerprint(root, ["data/a.csv", "data/b"]) is not None
    (root / "data" / "untracked.txt").write_text("?", encoding="utf-8")
    assert dvc_hash(root, "data") is None  # a file DVC does not know: hash the files instead
    assert dvc_fingerprint(root, ["data"]) is None
    assert dvc_hash(root, "elsewhere") is None
