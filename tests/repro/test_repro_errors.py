"""What run and reproduce refuse, and how they say it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from torchlane.git import Git
from torchlane.repro.manifest import MANIFEST_NAME

PY = sys.executable
WRITE = "import os; open(os.path.join(os.environ['TORCHLANE_OUTPUT'], 'out.txt'), 'w').write('x')"


def record(cli, root: Path) -> dict[str, Any]:
    result = cli(["run", "--json", "--seed", "5", "--", PY, "-c", WRITE], cwd=root)
    assert result.code == 0, result.err
    return json.loads(result.out)


def edit_manifest(root: Path, **changes: object) -> Path:
    path = root / "outputs" / MANIFEST_NAME
    data = json.loads(path.read_text())
    data.update(changes)
    edited = root / "edited-run.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    return edited


def test_unknown_run_id(cli, training_repo: Git) -> None:
    record(cli, training_repo.cwd)
    result = cli(["reproduce", "--yes", "19990101-000000-abcdef"], cwd=training_repo.cwd)
    assert result.code == 1
    assert "No run '19990101-000000-abcdef' is recorded in refs/notes/torchlane-runs" in result.err
    assert "git fetch origin refs/notes/torchlane-runs:refs/notes/torchlane-runs" in result.err


def test_command_not_found_records_nothing(cli, training_repo: Git) -> None:
    result = cli(["run", "--", "no-such-trainer", "--epochs", "3"], cwd=training_repo.cwd)
    assert result.code == 127
    assert "Command not found: no-such-trainer." in result.err
    assert "hint:" in result.err
    assert training_repo.ref_value("refs/notes/torchlane-runs") is None
    assert not (training_repo.cwd / "outputs").exists()


def test_require_clean_refuses_a_dirty_worktree(cli, training_repo: Git) -> None:
    (training_repo.cwd / "plain.py").write_text("print('edited')\n", encoding="utf-8")
    result = cli(["run", "--require-clean", "--", PY, "plain.py"], cwd=training_repo.cwd)
    assert result.code == 1
    assert "uncommitted changes (plain.py)" in result.err
    assert training_repo.ref_value("refs/notes/torchlane-runs") is None


def test_missing_commit(cli, training_repo: Git) -> None:
    record(cli, training_repo.cwd)
    edited = edit_manifest(training_repo.cwd, commit="a" * 40)
    result = cli(["reproduce", "--yes", str(edited)], cwd=training_repo.cwd)
    assert result.code == 1
    assert f"recorded at commit {'a' * 12}, which is not in this repository" in result.err


def test_tampered_patch_is_refused(cli, training_repo: Git) -> None:
    record(cli, training_repo.cwd)
    edited = edit_manifest(training_repo.cwd, patch="diff --git a/x b/x\n", patch_sha256="0" * 64)
    result = cli(["reproduce", "--yes", str(edited)], cwd=training_repo.cwd)
    assert result.code == 1
    assert "does not match its checksum" in result.err


def test_strict_refuses_another_environment(cli, training_repo: Git) -> None:
    manifest = record(cli, training_repo.cwd)
    environment = {**manifest["environment"], "torch": "1.13.1+cu117", "device": "Tesla V100"}
    edited = edit_manifest(training_repo.cwd, environment=environment)
    strict = cli(["reproduce", "--yes", str(edited), "--strict"], cwd=training_repo.cwd)
    assert strict.code == 1
    assert "torch 1.13.1+cu117 ->" in strict.err
    assert "device Tesla V100 -> cpu" in strict.err
    lenient = cli(["reproduce", "--yes", str(edited)], cwd=training_repo.cwd)
    assert lenient.code == 0
    assert "warning: torch was 1.13.1+cu117" in lenient.err
    assert "verdict: identical" in lenient.out


def test_unreadable_manifest_and_bad_output_dir(cli, training_repo: Git, tmp_path: Path) -> None:
    broken = training_repo.cwd / "broken.json"
    broken.write_text('{"run_id": "x"}', encoding="utf-8")
    result = cli(["reproduce", "--yes", str(broken)], cwd=training_repo.cwd)
    assert result.code == 1
    assert "is not a readable run manifest: missing field(s)" in result.err
    outside = cli(
        ["run", "--output", str(tmp_path / "elsewhere"), "--", PY, "-c", "0"], cwd=training_repo.cwd
    )
    assert outside.code == 1
    assert "is outside the repository" in outside.err


def test_keep_leaves_the_worktree_with_the_reproduced_outputs(cli, training_repo: Git) -> None:
    manifest = record(cli, training_repo.cwd)
    result = cli(
        ["reproduce", "--yes", manifest["run_id"], "--keep", "--json"], cwd=training_repo.cwd
    )
    report = json.loads(result.out)
    tree = Path(report["worktree"])
    assert (tree / "outputs" / "out.txt").read_text() == "x"
    assert report["verdict"] == "identical"
    training_repo.run("worktree", "remove", "--force", str(tree))


def test_runs_outside_a_repository_or_before_the_first_commit(cli, tmp_path: Path) -> None:
    result = cli(["run", "--", PY, "-c", "0"], cwd=tmp_path)
    assert result.code == 1
    assert "not inside a git repository" in result.err
    Git(tmp_path).run("init", "--quiet")
    result = cli(["run", "--", PY, "-c", "0"], cwd=tmp_path)
    assert result.code == 1
    assert "no commit yet" in result.err
