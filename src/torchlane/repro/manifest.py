"""The run manifest: everything needed to re-run a training command and check its outputs.

It is written next to the outputs (`<output>/torchlane-run.json`) and as one JSON line in a git
note on the commit (refs/notes/torchlane-runs), so a run can be reproduced by id from any clone
that fetched the notes, even after its output directory is gone. The dirty diff travels inside
the manifest: `git diff --binary` is ASCII, and a run is worthless without it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.notes import annotated_commits, full_notes_ref, note_text

SCHEMA_VERSION = 1
MANIFEST_NAME = "torchlane-run.json"
METRICS_MAX_BYTES = 64 * 1024
PATCH_NAME = "torchlane-run.patch"


@dataclass(frozen=True)
class RunManifest:
    run_id: str
    started: str  # UTC, ISO 8601
    commit: str
    branch: str | None  # None: detached HEAD
    patch: str  # `git diff HEAD --binary` at start: staged and unstaged tracked changes
    patch_sha256: str | None  # None: the worktree was clean
    untracked: list[str]  # untracked, not ignored files: NOT in the patch
    environment: dict[str, str | None]  # torchlane.fingerprint.environment_fingerprint
    seed: int
    command: list[str]
    cwd: str  # where the command ran, relative to the repository root
    variables: dict[str, str]  # what the command was given (TORCHLANE_SEED, PYTHONHASHSEED...)
    config_files: dict[str, str]  # path -> sha256
    data: dict[str, str | None]  # configured data path -> tree sha256; None: missing
    output_dirs: list[str]  # relative to the repository root
    outputs: dict[str, str]  # files the command wrote or changed -> sha256
    exit_code: int
    duration_s: float
    # Small JSON outputs (metrics) by path, kept whole so `reproduce` can compare them within a
    # tolerance from any clone, even when the recorded output directory is gone.
    metrics: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    @property
    def dirty(self) -> bool:
        return bool(self.patch)

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> RunManifest:
        if not isinstance(data, dict):
            raise ValueError("a run manifest is a JSON object")
        if data.get("schema", SCHEMA_VERSION) > SCHEMA_VERSION:
            raise ValueError(f"written by a newer torchlane (schema {data['schema']})")
        fields = dataclasses.fields(cls)
        names = {f.name for f in fields}
        required = {f.name for f in fields if f.default is MISSING and f.default_factory is MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        return cls(**{key: value for key, value in data.items() if key in names})


def small_json_outputs(root: Path, outputs: dict[str, str]) -> dict[str, Any]:
    """The JSON output files small enough to keep in the manifest, parsed."""
    kept: dict[str, Any] = {}
    for name in outputs:
        path = root / name
        if name.endswith(".json") and path.stat().st_size <= METRICS_MAX_BYTES:
            try:
                kept[name] = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
    return kept


def load_manifest_file(path: Path) -> RunManifest:
    file = path / MANIFEST_NAME if path.is_dir() else path
    try:
        return RunManifest.from_dict(json.loads(file.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise TorchlaneError(
            f"{path} holds no run manifest ({MANIFEST_NAME}).",
            "Pass a run id or the torchlane-run.json that `torchlane run` wrote.",
        ) from exc
    except (ValueError, TypeError) as exc:
        raise TorchlaneError(
            f"{file} is not a readable run manifest: {exc}.",
            "Pass the torchlane-run.json that `torchlane run` wrote, or the run id.",
        ) from exc


def write_manifest(directory: Path, manifest: RunManifest) -> Path:
    path = directory / MANIFEST_NAME
    path.write_text(manifest.to_json(), encoding="utf-8")
    if manifest.patch:
        (directory / PATCH_NAME).write_text(manifest.patch, encoding="utf-8")
    return path


def recorded_runs(git: Git, notes_ref: str) -> list[RunManifest]:
    """Every manifest in the notes, in note order. Unreadable lines are skipped."""
    ref = full_notes_ref(notes_ref)
    runs: list[RunManifest] = []
    for commit in annotated_commits(git, ref):
        for line in note_text(git, ref, commit).splitlines():
            try:
                runs.append(RunManifest.from_dict(json.loads(line)))
            except (ValueError, TypeError):
                continue
    return runs


def find_run(git: Git, notes_ref: str, run_id: str) -> RunManifest:
    """The run whose id is `run_id` or starts with it (a unique prefix is enough)."""
    runs = recorded_runs(git, notes_ref)
    exact = [run for run in runs if run.run_id == run_id]
    matching = exact or [run for run in runs if run.run_id.startswith(run_id)]
    if len(matching) == 1:
        return matching[0]
    if matching:
        shown = ", ".join(run.run_id for run in matching[:5])
        raise TorchlaneError(
            f"'{run_id}' matches {len(matching)} runs ({shown}).", "Give more of the run id."
        )
    ref = full_notes_ref(notes_ref)
    raise TorchlaneError(
        f"No run '{run_id}' is recorded in {ref} ({len(runs)} run(s) known).",
        f"Check the id, pass the run's {MANIFEST_NAME} path instead, or fetch the team's runs: "
        f"git fetch origin {ref}:{ref}",
    )


def load_run(git: Git, notes_ref: str, run: str) -> RunManifest:
    """RUN as given on the command line: a manifest path (file or output directory) or a run id."""
    path = Path(run)
    if path.exists():
        return load_manifest_file(path)
    return find_run(git, notes_ref, run)
