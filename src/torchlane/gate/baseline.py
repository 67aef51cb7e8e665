"""Which commit a candidate is judged against, and why.

- A topic branch (or any commit that is not a release/hotfix): the nearest commit with metrics at
  or before its merge-base with develop, walking develop's first-parent line (the integration
  history, not commits inside merged branches). The candidate itself never counts as its baseline.
- A release or hotfix branch: the latest release tag older than the branch's own version.
- `--baseline REV` overrides both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from torchlane.errors import TorchlaneError
from torchlane.metrics.history import develop_tip, first_parent_line
from torchlane.metrics.store import commits_with_records
from torchlane.naming import BranchType
from torchlane.project import Project

# Pull-request source branch first, then the pushed branch (GitHub Actions, GitLab CI).
_CI_BRANCH_VARIABLES = (
    "GITHUB_HEAD_REF",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "GITHUB_REF_NAME",
    "CI_COMMIT_BRANCH",
)


BaselineRule = Literal["override", "develop-merge-base", "release-tag"]


@dataclass(frozen=True, kw_only=True)
class BaselineChoice:
    commit: str | None  # None: no commit qualifies
    ref: str | None  # the tag or branch it came from, when there is one
    rule: BaselineRule
    reason: str  # one sentence for people


def candidate_branch(ctx: Project, rev: str, recorded_branch: str | None) -> str | None:
    """The branch a candidate belongs to: REV itself if it names one, HEAD's, or the record's."""
    if ctx.git.branch_exists(rev):
        return rev
    remote = ctx.config.flow.remote
    if rev.startswith(f"{remote}/") and ctx.git.ref_value(f"refs/remotes/{rev}") is not None:
        return rev[len(remote) + 1 :]
    if rev == "HEAD":
        current = ctx.git.current_branch()
        if current is not None:
            return current
    if recorded_branch:
        return recorded_branch
    # CI checkouts are detached: the CI system names the branch under test.
    if rev == "HEAD":
        for variable in _CI_BRANCH_VARIABLES:
            if os.environ.get(variable):
                return os.environ[variable]
    return None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def from_develop(ctx: Project, candidate: str, notes_ref: str) -> BaselineChoice:
    git = ctx.git
    tip = develop_tip(ctx)
    short_tip = tip.removeprefix("refs/heads/").removeprefix("refs/remotes/")
    merge_base = git.merge_base(candidate, tip)
    if merge_base is None:
        return BaselineChoice(
            commit=None,
            ref=None,
            rule="develop-merge-base",
            reason=f"The candidate shares no history with {short_tip}.",
        )
    line = first_parent_line(git, tip)
    # The merge-base may sit inside a merged branch; start from the nearest line commit below it.
    below = set(git.rev_list(merge_base, "--"))
    start = next((i for i, c in enumerate(line) if c.commit in below), None)
    if start is None:
        return BaselineChoice(
            commit=None,
            ref=None,
            rule="develop-merge-base",
            reason=f"No commit of {short_tip}'s line precedes the merge-base.",
        )
    annotated = commits_with_records(git, notes_ref)
    for offset, item in enumerate(line[start:]):
        if item.commit == candidate or item.commit not in annotated:
            continue
        where = (
            "the merge-base itself"
            if item.commit == merge_base
            else f"{_plural(offset, 'commit')} before the merge-base"
            if line[start].commit == merge_base
            else f"{_plural(offset, 'commit')} below the merge-base {merge_base[:12]}"
        )
        return BaselineChoice(
            commit=item.commit,
            ref=short_tip,
            rule="develop-merge-base",
            reason=f"{short_tip}'s first-parent commit {item.commit[:12]}, {where}, "
            "the nearest with metrics.",
        )
    return BaselineChoice(
        commit=None,
        ref=None,
        rule="develop-merge-base",
        reason=f"No commit on {short_tip}'s first-parent line at or before the merge-base "
        f"{merge_base[:12]} has metrics.",
    )


def from_release_tag(ctx: Project, branch: str) -> BaselineChoice:
    parsed = ctx.parse(branch)
    own = parsed.version if parsed else None
    older = [
        (v, tag) for v, tag in ctx.release_tags() if own is None or v.sort_key() < own.sort_key()
    ]
    if not older:
        return BaselineChoice(
            commit=None,
            ref=None,
            rule="release-tag",
            reason=f"There is no release tag older than '{branch}' to compare with.",
        )
    _, tag = older[-1]
    commit = ctx.git.rev(f"refs/tags/{tag}")
    return BaselineChoice(
        commit=commit,
        ref=tag,
        rule="release-tag",
        reason=f"the latest release tag {tag} ({(commit or '')[:12]}), since '{branch}' is a {parsed.type.value if parsed else 'release'} branch.",
    )


def resolve_baseline(
    ctx: Project,
    candidate: str,
    branch: str | None,
    notes_ref: str,
    override: str | None = None,
) -> BaselineChoice:
    if override is not None:
        commit = ctx.git.rev(override)
        if commit is None:
            raise TorchlaneError(
                f"The baseline '{override}' is not a commit in this repository.",
                "Give a commit, branch or tag; in a shallow CI clone fetch more history first.",
            )
        return BaselineChoice(
            commit=commit,
            ref=override,
            rule="override",
            reason=f"{override} ({commit[:12]}), given with --baseline.",
        )
    parsed = ctx.parse(branch) if branch else None
    if parsed is not None and parsed.type in (BranchType.RELEASE, BranchType.HOTFIX):
        return from_release_tag(ctx, parsed.name)
    return from_develop(ctx, candidate, notes_ref)
