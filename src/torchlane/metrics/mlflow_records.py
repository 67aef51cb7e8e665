"""Which records `metrics export --mlflow` mirrors, each with a stable key and a step (git only).

The key names one note line for good: the commit, the record's time and a hash of the line as
stored. Re-exports search the tracking server for it instead of keeping local state, so any
machine (a laptop, every CI job) can export and none creates a duplicate. Notes merges
(`cat_sort_uniq`) keep lines byte for byte, so the key survives `metrics pull/push`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass

from torchlane.errors import TorchlaneError
from torchlane.flow.publish import parse_remote_url
from torchlane.metrics.history import develop_tip, first_parent_line
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.store import NoteProblem, commits_with_records, note_texts, parse_note
from torchlane.project import Project


@dataclass(frozen=True)
class ExportItem:
    key: str  # the value of the run's `torchlane.record` tag
    record: EvaluationRecord
    step: int  # the commit's position along its first-parent history (root = 0)
    on_develop: bool  # the commit is on develop's first-parent line


def record_key(commit: str, created_at: str, line: str) -> str:
    # The time is kept readable but restricted to characters that need no quoting in MLflow's
    # filter language; the line hash tells apart records that share a time.
    stamp = re.sub(r"[^0-9A-Za-z:+.-]", "_", created_at)[:40] or "no-time"
    digest = hashlib.sha256(line.strip().encode("utf-8")).hexdigest()[:16]
    return f"{commit}/{stamp}/{digest}"


def repository_name(ctx: Project) -> str:
    """The forge repository's name behind the remote, else the work tree's folder name."""
    url = ctx.git.remote_url(ctx.config.flow.remote)
    forge = parse_remote_url(url) if url else None
    return forge.path.rsplit("/", 1)[-1] if forge else ctx.root.name


def _commit(ctx: Project, rev: str, option: str) -> str:
    commit = ctx.git.rev(f"{rev}^{{commit}}")
    if commit is None:
        raise TorchlaneError(
            f"{option} '{rev}' is not a commit in this repository.",
            "Give a branch, tag or commit; in a shallow CI clone fetch more history first.",
        )
    return commit


def selected_commits(
    ctx: Project, notes_ref: str, branch: str | None, since: str | None
) -> list[str]:
    """Commits with records, limited to `branch`'s history and to what `since` does not reach."""
    annotated = commits_with_records(ctx.git, notes_ref)
    if branch is not None:
        exclude = [f"^{_commit(ctx, since, '--since')}"] if since is not None else []
        reachable = set(ctx.git.rev_list(_commit(ctx, branch, "--branch"), *exclude))
        return sorted(annotated & reachable)
    if since is not None:
        return sorted(annotated - set(ctx.git.rev_list(_commit(ctx, since, "--since"))))
    return sorted(annotated)


def _develop_positions(ctx: Project) -> dict[str, int]:
    try:
        tip = develop_tip(ctx)
    except TorchlaneError:
        return {}  # no develop here: every step comes from the commit's own history
    line = first_parent_line(ctx.git, tip)
    return {item.commit: len(line) - 1 - index for index, item in enumerate(line)}


def export_items(
    ctx: Project, notes_ref: str, branch: str | None = None, since: str | None = None
) -> tuple[list[ExportItem], list[NoteProblem]]:
    """Every readable record to export, oldest first, and the note lines that are not records."""
    commits = selected_commits(ctx, notes_ref, branch, since)
    develop = _develop_positions(ctx)
    items: list[ExportItem] = []
    problems: list[NoteProblem] = []
    for commit, text in note_texts(ctx.git, commits, notes_ref).items():
        # The position along develop's first-parent line is the commit's first-parent depth;
        # commits off that line get their depth along their own first-parent history.
        step = develop.get(commit)
        if step is None:
            step = ctx.git.count_commits(commit, first_parent=True) - 1
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            read = parse_note(commit, line)
            problems.extend(dataclasses.replace(p, line=number) for p in read.problems)
            items.extend(
                ExportItem(record_key(commit, r.created_at, line), r, step, commit in develop)
                for r in read.records
            )
    items.sort(key=lambda item: (item.record.created_at, item.record.commit, item.key))
    return items, problems
