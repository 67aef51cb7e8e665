"""`torchlane start TYPE NAME`: a topic, release or hotfix branch from the right base."""

from __future__ import annotations

from dataclasses import dataclass

from torchlane.errors import TorchlaneError, usage_error
from torchlane.flow.journal import require_no_operation
from torchlane.naming import BranchType, Version, check_name, parse_version
from torchlane.project import Project


@dataclass(frozen=True)
class StartResult:
    branch: str
    type: BranchType
    base: str
    base_commit: str
    version: str | None
    warnings: tuple[str, ...] = ()


def _topic_branch_name(ctx: Project, branch_type: BranchType, name: str) -> str:
    prefix = ctx.prefix(branch_type)
    full = name if name.startswith(prefix) else prefix + name
    verdict = check_name(full, ctx.config)
    if not verdict.ok:
        raise TorchlaneError(
            f"'{full}' breaks the naming conventions: {'; '.join(verdict.problems)}.",
            f"Try `torchlane start {branch_type.value} {(verdict.suggestion or '')[len(prefix) :]}`.",
        )
    return full


def _release_version(ctx: Project, branch_type: BranchType, text: str) -> Version:
    tag_prefix = ctx.config.flow.version_tag_prefix
    version = parse_version(text, tag_prefix)
    if version is None:
        raise TorchlaneError(
            f"'{text}' is not a semantic version.",
            f"Give MAJOR.MINOR.PATCH, e.g. `torchlane start {branch_type.value} 1.4.0`.",
        )
    latest = ctx.latest_release()
    if latest is not None and version.sort_key() <= latest[0].sort_key():
        raise TorchlaneError(
            f"Version {version} is not greater than the latest release {latest[1]}.",
            f"Pick a version after {latest[0]}, e.g. {latest[0].major}.{latest[0].minor + 1}.0 "
            f"for a release or {latest[0].major}.{latest[0].minor}.{latest[0].patch + 1} for a hotfix.",
        )
    tag = ctx.tag_for(version)
    if ctx.git.tag_exists(tag):
        raise TorchlaneError(
            f"The tag {tag} already exists.", "Pick a version that is not tagged yet."
        )
    for kind in (BranchType.RELEASE, BranchType.HOTFIX):
        for open_branch in ctx.open_branches(kind):
            if open_branch.version == version:
                raise TorchlaneError(
                    f"Version {version} is already being prepared on '{open_branch.name}'.",
                    f"Finish it with `torchlane finish {open_branch.name}` or pick another version.",
                )
    if branch_type is BranchType.HOTFIX:
        for release in ctx.open_branches(BranchType.RELEASE):
            if release.version is not None and release.version.sort_key() < version.sort_key():
                raise TorchlaneError(
                    f"Hotfix {version} would overtake the open release {release.version} "
                    f"('{release.name}'), which would then have to be tagged below it.",
                    f"Give the hotfix a version below {release.version}, or finish "
                    f"'{release.name}' first (`torchlane finish {release.name}`).",
                )
    if not ctx.config.flow.allow_parallel_releases:
        already = ctx.open_branches(branch_type)
        if already:
            raise TorchlaneError(
                f"A {branch_type.value} is already open: '{already[0].name}'.",
                f"Finish it first (`torchlane finish {already[0].name}`), or set "
                "[tool.torchlane.flow] allow_parallel_releases = true.",
            )
    return version


def _behind_remote_warning(ctx: Project, base: str) -> str | None:
    remote_ref = f"refs/remotes/{ctx.config.flow.remote}/{base}"
    if ctx.git.ref_value(remote_ref) is None:
        return None
    if ctx.git.is_ancestor(remote_ref, f"refs/heads/{base}"):
        return None
    return (
        f"'{base}' is behind {ctx.config.flow.remote}/{base}: the new branch starts from your "
        f"local '{base}'. Run `git pull` on '{base}' first if you want the latest work."
    )


def start_branch(ctx: Project, type_name: str, name: str) -> StartResult:
    try:
        branch_type = BranchType(type_name)
    except ValueError:
        allowed = ", ".join(t.value for t in BranchType)
        raise usage_error(
            f"Unknown branch type '{type_name}'.", f"Use one of: {allowed}."
        ) from None
    require_no_operation(ctx.git, "start")
    ctx.require_initialized()
    ctx.require_clean(f"start a {branch_type.value} branch")
    version: Version | None = None
    if branch_type.is_versioned:
        version = _release_version(ctx, branch_type, name)
        branch = ctx.prefix(branch_type) + ctx.tag_for(version)
    else:
        branch = _topic_branch_name(ctx, branch_type, name)
    if ctx.git.branch_exists(branch):
        raise TorchlaneError(
            f"The branch '{branch}' already exists.",
            f"Switch to it with `git switch {branch}`, or choose another name.",
        )
    base = ctx.base_of(branch_type)
    base_commit = ctx.git.resolve(f"refs/heads/{base}")
    warning = _behind_remote_warning(ctx, base)
    ctx.git.switch(branch, create_at=base_commit)
    return StartResult(
        branch=branch,
        type=branch_type,
        base=base,
        base_commit=base_commit,
        version=str(version) if version else None,
        warnings=(warning,) if warning else (),
    )
