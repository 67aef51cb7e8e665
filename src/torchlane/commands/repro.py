"""run, reproduce: record a training run, and re-run a recorded one to compare its outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project
from torchlane.errors import TorchlaneError

if TYPE_CHECKING:
    from torchlane.project import Project


@click.command(
    "run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=None,
    help="Seed exported as TORCHLANE_SEED (default: a random one, recorded).",
)
@click.option(
    "--output",
    "outputs",
    multiple=True,
    metavar="DIR",
    help="Where the command writes its outputs (repeatable; default from [tool.torchlane.repro]).",
)
@click.option(
    "--require-clean", is_flag=True, help="Refuse to run with uncommitted changes to tracked files."
)
@click.option(
    "--allow-secrets",
    is_flag=True,
    help="Record secrets found in the command line, the uncommitted changes or JSON outputs "
    "into the run note anyway (default: refuse the run, or keep those outputs out of the note).",
)
@with_project(keep_repo=True)
@json_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_command(
    *,
    seed: int | None,
    outputs: tuple[str, ...],
    require_clean: bool,
    allow_secrets: bool,
    project: Project,
    repo: Path | None,
    as_json: bool,
    command: tuple[str, ...],
) -> int:
    """Run COMMAND (after `--`) and record a manifest next to its outputs and as a git note."""
    from torchlane.repro.run import child_stdout, record_run

    result = record_run(
        project,
        list(command),
        cwd=repo or Path.cwd(),
        seed=seed,
        outputs=outputs,
        require_clean=require_clean,
        stdout=child_stdout(as_json),
        allow_secrets=allow_secrets,
    )
    manifest = result.manifest
    for name in result.withheld:
        render.say(
            f"warning: {name} holds a secret: it is not copied into the run note or the manifest "
            "(its hash is, so `reproduce` still compares it). Rerun with --allow-secrets to "
            "record it whole.",
            stderr=True,
        )
    if result.recorded_secrets:
        render.say(
            "warning: recorded secret(s) into the run note (--allow-secrets): "
            + ", ".join(result.recorded_secrets),
            stderr=True,
        )
    if as_json:
        render.print_json(manifest)
        return manifest.exit_code
    dirty = ", with a patch of uncommitted changes" if manifest.dirty else ""
    render.say(
        f"run {manifest.run_id}: exit {manifest.exit_code} after {manifest.duration_s:.1f} s, "
        f"{len(manifest.outputs)} output file(s), seed {manifest.seed}.\n"
        f"recorded on {manifest.commit[:12]}{dirty} ({result.notes_ref}) and in "
        + ", ".join(str(path) for path in result.manifest_files)
        + f"\nreproduce with: torchlane reproduce {manifest.run_id}",
        stderr=True,
    )
    return manifest.exit_code


_MARK = {
    "identical": "same",
    "within tolerance": "close",
    "different": "DIFF",
    "missing": "MISSING",
    "new": "NEW",
}


@click.command("reproduce")
@click.argument("run")
@click.option("--keep", is_flag=True, help="Keep the temporary worktree (its path is printed).")
@click.option(
    "--strict", is_flag=True, help="Fail when python/torch/CUDA/cuDNN/device differ from the run's."
)
@click.option(
    "--rtol",
    type=click.FloatRange(min=0),
    default=1e-5,
    show_default=True,
    help="Relative tolerance for numbers in JSON outputs.",
)
@click.option(
    "--atol",
    type=click.FloatRange(min=0),
    default=1e-8,
    show_default=True,
    help="Absolute tolerance for numbers in JSON outputs.",
)
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Run the note's command without asking (it is shown first all the same).",
)
@with_project
@json_option
def reproduce_command(
    *,
    run: str,
    yes: bool,
    keep: bool,
    strict: bool,
    rtol: float,
    atol: float,
    project: Project,
    as_json: bool,
) -> int:
    """Re-run RUN (a run id or its torchlane-run.json) at its commit with its seed; compare outputs.

    The command comes from the run's note, which anyone who can push notes may have written: it
    is shown first, and runs once you confirm (or with --yes).
    """
    from torchlane.repro.reproduce import load_manifest, preview, reproduce_run
    from torchlane.repro.run import child_stdout

    manifest = load_manifest(project, run)
    for line in preview(manifest).lines():
        render.say(line, stderr=True)
    if not yes:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise TorchlaneError(
                f"Not running run {manifest.run_id}'s command without a confirmation "
                "(no terminal to ask on).",
                "Read the command above; if you trust it, run again with --yes.",
            )
        if not click.confirm("Run it?", default=False, err=True):
            raise TorchlaneError("Not run.", "Nothing was executed or changed.")
    result = reproduce_run(
        project,
        run,
        keep=keep,
        strict=strict,
        rtol=rtol,
        atol=atol,
        stdout=child_stdout(as_json),
        manifest=manifest,
    )
    code = 1 if result.verdict == "different" else 0
    if as_json:
        render.print_json(result)
        return code
    for finding in result.environment:
        render.say(
            f"warning: {finding.check} was {finding.expected}, is {finding.found}", stderr=True
        )
    for note in result.notes:
        render.say(f"note: {note}", stderr=True)
    for restored in result.data_restored:
        render.say(restored, stderr=True)
    if result.files:
        render.print_table(
            f"reproduce {result.run_id}",
            ["", "file", "detail"],
            [[_MARK[f.status], f.path, f.detail] for f in result.files],
        )
    if result.exit_code != result.recorded_exit_code:
        render.say(f"exit code {result.exit_code}, the run had {result.recorded_exit_code}")
    changed = [f.path for f in result.files if f.status not in ("identical", "within tolerance")]
    detail = f": {', '.join(changed)}" if changed else ""
    render.say(f"verdict: {result.verdict}{detail}")
    if result.worktree:
        render.say(f"worktree kept at {result.worktree}")
    return code
