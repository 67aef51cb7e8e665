"""`torchlane eval [REV]`: evaluate a commit (HEAD in place, others in a temporary worktree) and
record the result in git notes for that commit."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from torchlane import __version__
from torchlane.config.load import load_config
from torchlane.errors import TorchlaneError
from torchlane.evaluate.run import CheckoutEvaluation, evaluate_checkout
from torchlane.evaluate.types import Progress
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.store import append_record, read_records
from torchlane.project import Project


@dataclass(frozen=True)
class EvalOutcome:
    record: EvaluationRecord
    cached: bool
    recorded: bool  # False with --no-record, or when the commit already has this evaluation
    in_worktree: bool  # evaluated in a temporary worktree at the revision (now removed)


def _has_same_evaluation(git: Git, commit: str, key: str, dirty: bool, notes_ref: str) -> bool:
    """Whether recording would only repeat a record already there.

    In CI the job always records its own evaluation: a record someone pushed to the notes ref
    for this commit must not stand in for it (the gate reads the last record as the candidate,
    and a CI signing key must get its signed record written even when an unsigned one with the
    same key exists)."""
    from torchlane.gate.trust import in_ci
    from torchlane.metrics.signing import KEY_VARIABLE

    if in_ci():
        return False
    signing = bool(os.environ.get(KEY_VARIABLE, "").strip())
    existing = read_records(git, commit, notes_ref).records
    return any(
        r.extra.get("eval_key") == key
        and r.dirty == dirty
        and (r.signature is not None or not signing)
        for r in existing
    )


def _record(
    commit: str, evaluation: CheckoutEvaluation, root: Path, dirty: bool, branch: str | None
) -> EvaluationRecord:
    components = evaluation.components
    try:
        checkpoint_path = evaluation.checkpoint.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        checkpoint_path = str(evaluation.checkpoint)
    return EvaluationRecord(
        commit=commit,
        metrics=evaluation.metrics,
        checkpoint_sha256=evaluation.checkpoint_sha256,
        checkpoint_path=checkpoint_path,
        data_fingerprint=evaluation.data_fingerprint,
        environment=evaluation.environment,
        seed=components["seed"],
        dirty=dirty,
        branch=branch,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        torchlane_version=__version__,
        per_example=evaluation.per_example,
        replicates=evaluation.replicates,
        extra={
            "eval_key": evaluation.key,
            "code_fingerprint": components["code_fingerprint"],
            "device_name": components["device_name"],
            "batch_size": components["batch_size"],
            "autocast": components["autocast"],
            "cached": evaluation.cached,
            "duration_s": round(evaluation.duration_s, 4),
        },
    )


def evaluate_commit(
    project: Project,
    rev: str | None = None,
    *,
    record: bool = True,
    use_cache: bool = True,
    device: str | None = None,
    progress: Progress | None = None,
) -> EvalOutcome:
    git = project.git
    in_place = rev is None or rev == "HEAD"
    rev = rev or "HEAD"
    commit = git.rev(rev)
    if commit is None:
        raise TorchlaneError(
            f"'{rev}' is not a commit in this repository.",
            "Give a branch, tag or commit, e.g. `torchlane eval develop`.",
        )
    dirty = bool(git.dirty_paths())
    if not in_place and commit == git.rev("HEAD") and not dirty:
        in_place = True  # the checkout already is that commit: no need for a copy
    state_dir = project.state_dir
    if in_place:
        branch = git.current_branch()
        root = project.root
        settings = project.config.eval
        evaluation = evaluate_checkout(
            root, settings, state_dir, device=device, use_cache=use_cache, progress=progress
        )
    else:
        dirty = False
        branch = rev if git.branch_exists(rev) else None
        with git.temporary_worktree(commit, prefix="torchlane-eval-") as root:
            # That commit's own evaluation settings: the model and data it was written for.
            settings = load_config(root).config.eval
            evaluation = evaluate_checkout(
                root, settings, state_dir, device=device, use_cache=use_cache, progress=progress
            )
    result = _record(commit, evaluation, root, dirty, branch)
    recorded = False
    # Records go where the gate and `metrics` read them: the notes ref of this repository's config.
    notes_ref = project.config.metrics.notes_ref
    if record and not _has_same_evaluation(git, commit, evaluation.key, dirty, notes_ref):
        append_record(git, result, notes_ref)
        recorded = True
    return EvalOutcome(result, evaluation.cached, recorded, not in_place)
