"""Run manifests in git notes: concurrent writers, lookup by id, round trip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.notes import append_note_line, note_text
from torchlane.repro.manifest import RunManifest, find_run, load_manifest_file

REF = "refs/notes/torchlane-runs"


def manifest(run_id: str, commit: str) -> RunManifest:
    return RunManifest(
        run_id=run_id, started="2026-11-29T10:00:00+00:00", commit=commit, branch="develop",
        patch="", patch_sha256=None, untracked=[], environment={"python": "3.11.7"}, seed=1,
        command=["python", "train.py"], cwd=".", variables={"TORCHLANE_SEED": "1"},
        config_files={}, data={}, output_dirs=["outputs"], outputs={}, exit_code=0,
        duration_s=1.0,
    )  # fmt: skip


@pytest.mark.slow
def test_concurrent_writers_lose_no_line(training_repo: Git) -> None:
    commit = training_repo.out("rev-parse", "HEAD")
    src = str(Path(__file__).resolve().parents[2] / "src")
    code = (
        "import sys; from torchlane.git import Git; from torchlane.notes import append_note_line;"
        f"g = Git({str(training_repo.cwd)!r});"
        "[append_note_line(g, 'torchlane-runs', sys.argv[1], f'{sys.argv[2]}-{i}', what='runs')"
        " for i in range(5)]"
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", code, commit, f"w{n}"], env={**os.environ, "PYTHONPATH": src}
        )
        for n in range(4)
    ]
    assert [w.wait() for w in writers] == [0] * 4
    lines = note_text(training_repo, REF, commit).splitlines()
    assert sorted(lines) == sorted(f"w{n}-{i}" for n in range(4) for i in range(5))
    assert not training_repo.lines("for-each-ref", "refs/notes/torchlane-scratch/")


def test_find_run_by_id_prefix_and_ambiguity(training_repo: Git) -> None:
    commit = training_repo.out("rev-parse", "HEAD")
    for run_id in ("20261129-100000-aaaaaa", "20261129-100000-bbbbbb"):
        append_note_line(
            training_repo, REF, commit, manifest(run_id, commit).to_line(), what="runs"
        )
    append_note_line(training_repo, REF, commit, "not json", what="runs")
    assert find_run(training_repo, REF, "20261129-100000-b").run_id == "20261129-100000-bbbbbb"
    with pytest.raises(TorchlaneError, match="matches 2 runs"):
        find_run(training_repo, REF, "20261129")


def test_manifest_round_trip_and_newer_schema(tmp_path: Path) -> None:
    original = manifest("r1", "c" * 40)
    path = tmp_path / "torchlane-run.json"
    path.write_text(original.to_json())
    assert load_manifest_file(tmp_path) == original
    path.write_text(json.dumps({**json.loads(original.to_json()), "schema": 99}))
    with pytest.raises(TorchlaneError, match="newer torchlane"):
        load_manifest_file(path)
