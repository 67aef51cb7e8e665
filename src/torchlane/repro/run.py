"""`torchlane run -- COMMAND...`: run a training command and record what it needs to be re-run.

The manifest (repro/manifest.py) is taken in three steps: the code state and inputs before the
command starts (commit, dirty patch, config and data hashes, environment), then the command with
its seed exported, then the files it wrote. Its exit code becomes torchlane run's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from torchlane import proc
from torchlane.errors import TorchlaneError
from torchlane.fingerprint import (
    environment_fingerprint,
    expand_globs,
    file_hashes,
    sha256_text,
    sha256_tree,
)
from torchlane.git import Git
from torchlane.leanfs import stat_signature
from torchlane.notes import append_note_line
from torchlane.project import Project
from torchlane.repro.manifest import (
    MANIFEST_NAME,
    PATCH_NAME,
    RunManifest,
    small_json_outputs,
    write_manifest,
)
from torchlane.repro.seed import CUBLAS_DETERMINISTIC

if TYPE_CHECKING:
    from torchlane.secrets.scan import Finding, ScanSettings

EXIT_NOT_FOUND = 127  # what a shell answers for a command it cannot find
EXIT_NOT_EXECUTABLE = 126
_OWN_FILES = frozenset({MANIFEST_NAME, PATCH_NAME})

FileState = dict[Path, tuple[int, int, int]]  # path -> (mtime_ns, size, inode)


@dataclass(frozen=True)
class RunResult:
    manifest: RunManifest
    manifest_files: list[Path]
    notes_ref: str
    # JSON outputs that hold a secret: kept out of the note and the manifest (their hashes stay).
    withheld: list[str] = field(default_factory=list)
    # With --allow-secrets: where the secrets are that were recorded anyway.
    recorded_secrets: list[str] = field(default_factory=list)


def _scan_settings(project: Project) -> ScanSettings:
    from torchlane.secrets.report import scan_settings

    return scan_settings(project.config.secrets)


def _where(findings: Sequence[Finding]) -> str:
    shown = ", ".join(f"{f.location} ({f.rule})" for f in findings[:5])
    return shown + (f" and {len(findings) - 5} more" if len(findings) > 5 else "")


def secrets_before_run(command: Sequence[str], patch: str, settings: ScanSettings) -> list[Finding]:
    """Secrets the note would copy from the command line or from the lines the dirty patch adds."""
    from torchlane.secrets.scan import scan_text
    from torchlane.secrets.sources import scan_patch

    # One argument a line, each as given (quoting them for a shell would hide `"key": "..."`):
    # a finding's line number is the argument's position.
    arguments = scan_text("\n".join(command), "command line", settings)
    return arguments + scan_patch(patch, settings)


def secrets_in_metrics(metrics: Mapping[str, object], settings: ScanSettings) -> list[Finding]:
    """Secrets in the JSON outputs the note would keep whole (each scanned as indented JSON, so
    that a `"token": "..."` pair is read as the key and value it is)."""
    from torchlane.secrets.scan import scan_text

    found: list[Finding] = []
    for name, value in metrics.items():
        found += scan_text(json.dumps(value, indent=1, ensure_ascii=False), name, settings)
    return found


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def resolve_command(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> str:
    """The executable that will run; a missing one is an error before anything is recorded."""
    if not command:
        raise TorchlaneError(
            "No command to run.", "Put it after `--`, e.g. `torchlane run -- python train.py`."
        )
    program = command[0]
    if "/" in program:
        found = str(cwd / program) if (cwd / program).is_file() else None
    else:
        found = shutil.which(program, path=env.get("PATH"))
    if found is None:
        raise TorchlaneError(
            f"Command not found: {program}.",
            "Check the spelling and your PATH, or give its path (e.g. ./train.sh).",
            exit_code=EXIT_NOT_FOUND,
        )
    return found


def snapshot(directories: Sequence[Path]) -> FileState:
    state: FileState = {}
    for directory in directories:
        for path in directory.rglob("*"):
            if path.is_file() and path.name not in _OWN_FILES:
                signature = stat_signature(path)
                if signature is not None:
                    state[path] = signature
    return state


def written_files(directories: Sequence[Path], before: FileState, root: Path) -> dict[str, str]:
    """Hashes of the files the command created or changed; stale files from earlier runs are not
    outputs of this one (comparing file states avoids trusting clock granularity)."""
    after = snapshot(directories)
    return file_hashes([path for path, state in after.items() if before.get(path) != state], root)


def execute(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], stdout: int | None = None
) -> tuple[int, float]:
    """Run to completion; (exit code, seconds). A signal becomes 128 + its number, as in a shell."""
    started = time.monotonic()
    try:
        code = proc.passthrough(command, cwd=cwd, env=env, stdout=stdout, outlive_interrupt=True)
    except PermissionError as exc:
        raise TorchlaneError(
            f"Cannot execute {command[0]}: {exc.strerror}.",
            f"Make it executable (chmod +x {command[0]}) or run it through its interpreter.",
            exit_code=EXIT_NOT_EXECUTABLE,
        ) from exc
    return (128 - code if code < 0 else code), time.monotonic() - started


def output_dirs(root: Path, cwd: Path, requested: Sequence[str], default: str) -> list[Path]:
    directories = [(cwd / d).resolve() for d in requested] or [(root / default).resolve()]
    for directory in directories:
        if not directory.is_relative_to(root):
            raise TorchlaneError(
                f"Output directory {directory} is outside the repository {root}.",
                "Write outputs inside the repository (ignored by git), so that `torchlane "
                "reproduce` can re-create them in its own worktree without overwriting these.",
            )
    return directories


def data_fingerprint(root: Path, paths: Sequence[str]) -> dict[str, str | None]:
    """path -> its hash: DVC's recorded hash when DVC tracks it (models/dvc.py: no re-reading),
    else a hash of its files; None when it is missing."""
    from torchlane.models.dvc import dvc_hash, tracked_outputs, uses_dvc

    outputs = tracked_outputs(root) if uses_dvc(root) and paths else []
    fingerprint: dict[str, str | None] = {}
    for name in paths:
        path = root / name
        tracked = dvc_hash(root, name, outputs) if outputs else None
        if tracked is not None and path.exists():
            fingerprint[name] = tracked
            continue
        fingerprint[name] = sha256_tree([path], root=path.parent) if path.exists() else None
    return fingerprint


def device_name() -> str:
    import torch

    return str(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else "cpu"


def command_variables(seed: int, deterministic: bool) -> dict[str, str]:
    """What the command is given to be repeatable; existing settings are respected and recorded."""
    variables = {"TORCHLANE_SEED": str(seed)}
    variables["PYTHONHASHSEED"] = os.environ.get("PYTHONHASHSEED", str(seed))
    cublas = os.environ.get("CUBLAS_WORKSPACE_CONFIG") or (
        CUBLAS_DETERMINISTIC if deterministic else None
    )
    if cublas:
        variables["CUBLAS_WORKSPACE_CONFIG"] = cublas
    return variables


def dirty_patch(git: Git) -> str:
    """Staged and unstaged changes to tracked files, as a patch `git apply` takes back whatever
    the user's diff settings (no prefixes, external diff tools, colour) say."""
    return git.run(
        "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
        "diff", "--no-ext-diff", "--no-color", "--no-relative", "--binary", "HEAD",
    ).stdout  # fmt: skip


def _untracked(git: Git, root: Path, outputs: Sequence[Path]) -> list[str]:
    names = git.untracked_files()
    return [n for n in names if not any((root / n).resolve().is_relative_to(o) for o in outputs)]


def record_run(
    project: Project,
    command: Sequence[str],
    *,
    cwd: Path,
    seed: int | None = None,
    outputs: Sequence[str] = (),
    require_clean: bool = False,
    stdout: int | None = None,
    allow_secrets: bool = False,
) -> RunResult:
    """Run `command` in `cwd` (a directory of the project) and record it.

    The note is shared with the repository (pushed with refs/notes), so a secret never goes into
    it silently: a secret in the command line or in the uncommitted changes refuses the run
    before it starts (nothing has happened yet: remove the secret and run again); a secret in a
    JSON output, known only after the run, keeps that output out of the note and the manifest
    (its hash stays, so `reproduce` still compares it) rather than losing the run's record.
    `allow_secrets` records everything as it is."""
    cwd = cwd.resolve()
    git = project.git
    root = project.root.resolve()
    settings = project.config.repro
    commit = git.rev("HEAD")
    if commit is None:
        raise TorchlaneError(
            "The repository has no commit yet, so a run cannot be tied to code.",
            "Commit your code first.",
        )
    if require_clean and (dirty := git.dirty_paths()):
        raise TorchlaneError(
            f"Tracked files have uncommitted changes ({', '.join(dirty[:5])}).",
            "Commit them, or drop --require-clean to record them as a patch in the manifest.",
        )
    seed = secrets.randbelow(2**32) if seed is None else seed
    variables = command_variables(seed, settings.deterministic)
    run_id = new_run_id()
    env = {**os.environ, **variables, "TORCHLANE_RUN_ID": run_id}
    resolve_command(command, cwd, env)
    directories = output_dirs(root, cwd, outputs, settings.output_dir)
    env["TORCHLANE_OUTPUT"] = str(directories[0])
    patch = dirty_patch(git)
    scan = _scan_settings(project)
    before_run = secrets_before_run(command, patch, scan)
    if before_run and not allow_secrets:
        raise TorchlaneError(
            f"The run note would copy {len(before_run)} secret(s) from the command line or the "
            f"uncommitted changes: {_where(before_run)}.",
            "Read the secret from the environment or a file git ignores, and run again; "
            "`--allow-secrets` records it anyway (the pre-push hook will then refuse to push "
            "the notes).",
        )
    started = datetime.now(timezone.utc)
    untracked = _untracked(git, root, directories)
    environment = environment_fingerprint(device_name())
    config_files = file_hashes(expand_globs(root, settings.config_files), root)
    data = data_fingerprint(root, settings.data)
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    before = snapshot(directories)
    exit_code, duration = execute(command, cwd, env, stdout)
    written = written_files(directories, before, root)
    metrics = small_json_outputs(root, written)
    in_metrics = secrets_in_metrics(metrics, scan)
    withheld: list[str] = []
    if in_metrics and not allow_secrets:
        withheld = sorted({f.path for f in in_metrics})
        metrics = {name: value for name, value in metrics.items() if name not in withheld}
    manifest = RunManifest(
        run_id=run_id,
        started=started.isoformat(timespec="seconds"),
        commit=commit,
        branch=git.current_branch(),
        patch=patch,
        patch_sha256=sha256_text(patch) if patch else None,
        untracked=untracked,
        environment=environment,
        seed=seed,
        command=list(command),
        cwd=cwd.relative_to(root).as_posix(),
        variables=variables,
        config_files=config_files,
        data=data,
        output_dirs=[d.relative_to(root).as_posix() for d in directories],
        outputs=written,
        metrics=metrics,
        exit_code=exit_code,
        duration_s=round(duration, 3),
    )
    files = [write_manifest(directory, manifest) for directory in directories]
    append_note_line(git, settings.notes_ref, commit, manifest.to_line(), what="run manifest")
    recorded = (
        [f"{f.location} ({f.rule})" for f in before_run + in_metrics] if allow_secrets else []
    )
    return RunResult(manifest, files, settings.notes_ref, withheld, recorded)


def child_stdout(as_json: bool) -> int | None:
    """With --json, stdout carries only the JSON: the command's output goes to stderr (fd 2)."""
    return 2 if as_json else None
