"""`torchlane reproduce RUN`: re-run a recorded run at its commit and compare what it wrote.

The reproduction happens in a temporary git worktree at the recorded commit with the recorded
patch applied, so the user's checkout is never touched. Configured data paths that git does not
track are linked into it. The environment is compared with the recorded fingerprint first.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from torchlane.doctor.diagnose import compare_environments
from torchlane.doctor.findings import Finding
from torchlane.errors import TorchlaneError
from torchlane.fingerprint import environment_fingerprint, file_hashes, sha256_text
from torchlane.git import Git
from torchlane.models.dvc import restore_data, uses_dvc
from torchlane.project import Project
from torchlane.repro.compare import FileComparison, Verdict, compare_outputs, verdict_of
from torchlane.repro.manifest import RunManifest, load_run
from torchlane.repro.run import (
    data_fingerprint,
    device_name,
    execute,
    resolve_command,
    snapshot,
    written_files,
)

# What a run note may set in the command's environment (what `torchlane run` records). A note
# is shared data: anything else (PATH, LD_PRELOAD, PYTHONPATH...) would run code of its author's
# choosing, so it is dropped, and said.
RECORDED_VARIABLES = frozenset({"TORCHLANE_SEED", "PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG"})
_PATCHED = re.compile(r"^(?:\+\+\+ b/|--- a/)(.+)$", re.MULTILINE)


def printable(text: str) -> str:
    """`text` with control characters (newlines, terminal escapes) shown as escapes, so that
    what a note contains is what the terminal shows."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class RunPreview:
    """What `reproduce` is about to execute, from the run note, shown before it runs."""

    run_id: str
    commit: str
    command: str  # shell-quoted, control characters escaped
    cwd: str
    patched_files: list[str]  # what the recorded patch changes before the command runs
    variables: dict[str, str]  # set for the command
    ignored_variables: list[str]  # in the note but never set (see RECORDED_VARIABLES)

    def lines(self) -> list[str]:
        lines = [f"run {self.run_id} executes, at commit {self.commit[:12]}:"]
        lines.append(f"  cd {printable(shlex.quote(self.cwd))} && {self.command}")
        if self.patched_files:
            shown = ", ".join(printable(p) for p in self.patched_files[:10])
            more = (
                f" and {len(self.patched_files) - 10} more" if len(self.patched_files) > 10 else ""
            )
            lines.append(f"  after applying the recorded patch to {shown}{more}")
        if self.variables:
            pairs = " ".join(f"{k}={printable(shlex.quote(v))}" for k, v in self.variables.items())
            lines.append(f"  with {pairs}")
        if self.ignored_variables:
            names = ", ".join(printable(n) for n in self.ignored_variables)
            lines.append(f"  (the note also sets {names}: not a run setting, ignored)")
        return lines


def preview(manifest: RunManifest) -> RunPreview:
    variables = {k: v for k, v in manifest.variables.items() if k in RECORDED_VARIABLES}
    return RunPreview(
        run_id=manifest.run_id,
        commit=manifest.commit,
        command=printable(shlex.join(manifest.command)),
        cwd=manifest.cwd,
        patched_files=sorted(set(_PATCHED.findall(manifest.patch)) - {"/dev/null"}),
        variables=variables,
        ignored_variables=sorted(set(manifest.variables) - RECORDED_VARIABLES),
    )


def load_manifest(project: Project, run: str) -> RunManifest:
    """The run's manifest, from its note (by id) or a torchlane-run.json file."""
    return load_run(project.git, project.config.repro.notes_ref, run)


@dataclass(frozen=True)
class ReproduceResult:
    run_id: str
    commit: str
    verdict: Verdict
    files: list[FileComparison]
    exit_code: int
    recorded_exit_code: int
    environment: list[Finding]  # differences from the recorded environment
    notes: list[str] = field(default_factory=list)  # what may make the reproduction differ
    worktree: str | None = None  # kept with --keep
    data_restored: list[str] = field(default_factory=list)  # how DVC put the data version back


def _require_commit(git: Git, manifest: RunManifest) -> None:
    if git.rev(manifest.commit) is None:
        raise TorchlaneError(
            f"Run {manifest.run_id} was recorded at commit {manifest.commit[:12]}, which is not "
            "in this repository.",
            "Fetch it (`git fetch origin`); if history was rewritten, the run cannot be "
            "reproduced from this repository.",
        )
    if manifest.patch and sha256_text(manifest.patch) != manifest.patch_sha256:
        raise TorchlaneError(
            f"The patch recorded with run {manifest.run_id} does not match its checksum.",
            "The manifest was edited or truncated; reproduce from the note (the run id) instead.",
        )


def _check_inputs(root: Path, tree: Path, manifest: RunManifest) -> list[str]:
    notes: list[str] = []
    if manifest.untracked:
        shown = ", ".join(manifest.untracked[:5])
        notes.append(
            f"{len(manifest.untracked)} untracked file(s) were not part of the recorded code "
            f"({shown}); if the command read them, commit them"
        )
    present = [tree / name for name in manifest.config_files if (tree / name).is_file()]
    now = file_hashes(present, tree)
    for name, digest in manifest.config_files.items():
        if name not in now:
            notes.append(f"config file {name} is missing from the reproduction (untracked?)")
        elif now[name] != digest:
            notes.append(f"config file {name} differs from the recorded one")
    current = data_fingerprint(root, list(manifest.data))
    for name, recorded in manifest.data.items():
        if current[name] != recorded:
            change = "is missing" if current[name] is None else "has changed since the run"
            notes.append(f"data {name} {change}")
    return notes


def _link_data(root: Path, tree: Path, manifest: RunManifest) -> list[Path]:
    """Untracked data (ignored by git, so absent from the worktree) is linked in, read in place."""
    links: list[Path] = []
    for name in manifest.data:
        source, target = root / name, tree / name
        if source.exists() and not target.exists() and not target.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source, target_is_directory=source.is_dir())
            links.append(target)
    return links


def _remove_worktree(git: Git, tree: Path, links: Sequence[Path]) -> None:
    for link in links:
        link.unlink(missing_ok=True)  # never let a recursive removal follow into the real data
    git.remove_worktree(tree)


def reproduce_run(
    project: Project,
    run: str,
    *,
    keep: bool = False,
    strict: bool = False,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    stdout: int | None = None,
    manifest: RunManifest | None = None,
) -> ReproduceResult:
    """Re-run `run` (or the already loaded `manifest`, which the caller has shown and had
    confirmed: see `preview`)."""
    git = project.git
    root = project.root.resolve()
    manifest = manifest or load_manifest(project, run)
    _require_commit(git, manifest)
    environment = compare_environments(
        manifest.environment, environment_fingerprint(device_name()), strict=strict
    )
    if strict and environment:
        differences = ", ".join(f"{f.check} {f.expected} -> {f.found}" for f in environment)
        raise TorchlaneError(
            f"This environment differs from run {manifest.run_id}'s: {differences}.",
            "Recreate the recorded environment, or drop --strict to reproduce anyway.",
        )
    tree = Path(tempfile.mkdtemp(prefix=f"torchlane-reproduce-{manifest.run_id}-"))
    links: list[Path] = []
    try:
        git.add_worktree(tree, manifest.commit)
        tree_git = Git(tree)
        if manifest.patch:
            applied = tree_git.run("apply", "--binary", "-", input=manifest.patch, check=False)
            if not applied.ok:
                reason = (applied.stderr.strip().splitlines() or ["git apply failed"])[-1]
                raise TorchlaneError(
                    f"The recorded patch does not apply to {manifest.commit[:12]}: {reason}.",
                    "The manifest's commit and patch do not belong together.",
                )
        restored: list[str] = []
        if uses_dvc(tree):  # the data version of that commit, as DVC recorded it
            restored = restore_data(tree, root)
        links = _link_data(root, tree, manifest)
        notes = _check_inputs(tree if restored else root, tree, manifest)
        command_cwd = tree / manifest.cwd
        directories = [tree / name for name in manifest.output_dirs]
        env = {
            **os.environ,
            **preview(manifest).variables,
            "TORCHLANE_RUN_ID": manifest.run_id,
            "TORCHLANE_OUTPUT": str(directories[0]),
            "TORCHLANE_REPRODUCE": "1",
        }
        resolve_command(manifest.command, command_cwd, env)
        for directory in directories:
            directory.mkdir(parents=True, exist_ok=True)
        before = snapshot(directories)
        exit_code, _ = execute(manifest.command, command_cwd, env, stdout)
        files = compare_outputs(
            manifest.outputs,
            written_files(directories, before, tree),
            recorded_metrics=manifest.metrics,
            new_root=tree,
            rtol=rtol,
            atol=atol,
        )
    finally:
        if not keep:
            _remove_worktree(git, tree, links)
    if not manifest.outputs:
        notes.append("the recorded run wrote no output files: only its exit code is compared")
    return ReproduceResult(
        run_id=manifest.run_id,
        commit=manifest.commit,
        verdict=verdict_of(files, exit_code == manifest.exit_code),
        files=files,
        exit_code=exit_code,
        recorded_exit_code=manifest.exit_code,
        environment=environment,
        notes=notes,
        worktree=str(tree) if keep else None,
        data_restored=restored,
    )
