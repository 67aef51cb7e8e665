"""`torchlane verify`: has the repository followed the branch model since it was adopted?

Rules, checked on history after `[tool.torchlane.flow] adopted_at` (else from the root commit):
  - main advances only by --no-ff merges of release or hotfix branches (its first-parent chain
    holds nothing but such merges);
  - each of those merges carries an annotated version tag (`<tag prefix><semver>`), matching
    the branch's version when the merge message names the branch;
  - develop contains every commit of main;
  - no local branch breaks the naming conventions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torchlane.errors import TorchlaneError
from torchlane.naming import (
    BranchType,
    ParsedBranch,
    Version,
    check_name,
    is_long_lived,
    parse_version,
)
from torchlane.naming_rules import typed_name
from torchlane.project import Project

_FIELD = "\x1f"
_RECORD = "\x1e"


@dataclass(frozen=True, kw_only=True)
class Violation:
    rule: str
    message: str
    hint: str
    commit: str | None = None
    subject: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    main: str
    develop: str
    since: str  # the adoption commit, or "the root commit"
    checked_main_commits: int
    checked_branches: int
    violations: list[Violation] = field(default_factory=list)


@dataclass(frozen=True)
class _Commit:
    sha: str
    parents: tuple[str, ...]
    subject: str


@dataclass(frozen=True)
class _Tag:
    name: str
    annotated: bool
    version: Version | None


def _first_parent_chain(ctx: Project, main_ref: str, exclude: str | None) -> list[_Commit]:
    args = ["log", "--first-parent", f"--format=%H{_FIELD}%P{_FIELD}%s{_RECORD}", main_ref]
    if exclude:
        args.append(f"^{exclude}")
    commits: list[_Commit] = []
    for record in ctx.git.run(*args).stdout.split(_RECORD):
        parts = record.strip("\n").split(_FIELD)
        if len(parts) == 3:
            commits.append(_Commit(parts[0], tuple(parts[1].split()), parts[2]))
    return commits


def _tags_by_commit(ctx: Project) -> dict[str, list[_Tag]]:
    prefix = ctx.config.flow.version_tag_prefix
    found: dict[str, list[_Tag]] = {}
    fmt = f"%(refname:strip=2){_FIELD}%(objecttype){_FIELD}%(objectname){_FIELD}%(*objectname)"
    for line in ctx.git.for_each_ref(fmt, "refs/tags/"):
        name, kind, target, peeled = line.split(_FIELD)
        commit = peeled if kind == "tag" else target
        version = parse_version(name[len(prefix) :], "") if name.startswith(prefix) else None
        found.setdefault(commit, []).append(_Tag(name, kind == "tag", version))
    return found


def merged_branch(subject: str, ctx: Project) -> ParsedBranch | None:
    """The branch a merge message names ("Merge release/v1.2.0 into main", "Merge branch
    'hotfix/v1.2.1'", "Merge pull request #7 from user/release/v1.3.0"), if any."""
    if not subject.startswith("Merge"):
        return None
    prefixes = [ctx.prefix(t) for t in BranchType]
    for token in subject.replace("'", " ").replace('"', " ").split()[1:]:
        for prefix in prefixes:
            at = token.find(prefix)
            if at == 0 or (at > 0 and token[at - 1] == "/"):
                return ctx.parse(token[at:])
    return None


def _adoption_hint(ctx: Project) -> str:
    return (
        "History cannot be undone once shared. If the team accepts it, move the adoption point "
        f"past it: set [tool.torchlane.flow] adopted_at to the current '{ctx.main}' commit."
    )


def _check_main_commit(ctx: Project, commit: _Commit, tags: list[_Tag]) -> list[Violation]:
    def violation(rule: str, message: str, hint: str) -> Violation:
        return Violation(
            rule=rule, message=message, hint=hint, commit=commit.sha, subject=commit.subject
        )

    if len(commit.parents) < 2:
        # Afterwards a fast-forward and a commit made on main look the same: both are plain
        # commits on main's first-parent line. The hint covers both.
        return [violation(
            "not-a-merge",
            f"'{ctx.main}' moved to this commit without a merge commit (a fast-forward, or a "
            f"commit made directly on '{ctx.main}').",
            f"Changes reach '{ctx.main}' only through `torchlane finish` of a release or hotfix "
            "(always --no-ff); for an urgent fix use `torchlane start hotfix <version>`. "
            + _adoption_hint(ctx),
        )]  # fmt: skip
    problems: list[Violation] = []
    branch = merged_branch(commit.subject, ctx)
    version_tags = [t for t in tags if t.version is not None]
    annotated = [t for t in version_tags if t.annotated]
    if branch is not None and not branch.type.is_versioned:
        problems.append(violation(
            "not-a-release",
            f"'{ctx.main}' received a merge of the {branch.type.value} branch '{branch.name}'.",
            f"Topic branches go into '{ctx.develop}'; ship them through a release. "
            + _adoption_hint(ctx),
        ))  # fmt: skip
        return problems
    if branch is None and not version_tags:
        return [violation(
            "not-a-release",
            f"A merge on '{ctx.main}' that names no release or hotfix branch and has no version tag.",
            f"Merge into '{ctx.main}' only with `torchlane finish` of a release or hotfix branch. "
            + _adoption_hint(ctx),
        )]  # fmt: skip
    prefix = ctx.config.flow.version_tag_prefix
    expected = f"{prefix}{branch.version}" if branch and branch.version else None
    if not annotated:
        shown = expected or f"{prefix}<version>"
        if version_tags:
            problems.append(violation(
                "lightweight-tag",
                f"The release merge is tagged {version_tags[0].name}, but the tag is not annotated.",
                f"Re-create it annotated: `git tag -f -a {version_tags[0].name} {commit.sha[:12]} "
                f"-m 'Release {version_tags[0].name}'` and push it with --force.",
            ))  # fmt: skip
        else:
            problems.append(violation(
                "untagged-release",
                "This release/hotfix merge carries no version tag.",
                f"Tag it: `git tag -a {shown} {commit.sha[:12]} -m 'Release {shown}'` "
                f"and `git push {ctx.config.flow.remote} {shown}`.",
            ))  # fmt: skip
    elif expected and expected not in {t.name for t in annotated}:
        problems.append(violation(
            "tag-mismatch",
            f"The merge of '{branch.name if branch else ''}' is tagged "
            f"{', '.join(t.name for t in annotated)}, not {expected}.",
            f"Tag it as {expected} too, or check which version was actually released.",
        ))  # fmt: skip
    return problems


def _branch_ref(ctx: Project, branch: str) -> str:
    """The local branch, or in a CI checkout that has none, its remote-tracking branch."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/{ctx.config.flow.remote}/{branch}"):
        if ctx.git.ref_value(ref) is not None:
            return ref
    raise TorchlaneError(
        f"There is no branch '{branch}' here, not even {ctx.config.flow.remote}/{branch}, so "
        "there is no history to verify.",
        f"Fetch it (`git fetch {ctx.config.flow.remote} {branch}`), or run `torchlane init` "
        "if the branch model is not set up yet.",
    )


def _adoption_point(ctx: Project, main_ref: str) -> str | None:
    adopted = ctx.config.flow.adopted_at
    if not adopted:
        return None
    resolved = ctx.git.rev(adopted)
    if resolved is not None and ctx.git.is_ancestor(resolved, main_ref):
        return resolved
    reason = "is not a commit here" if resolved is None else f"is not in '{ctx.main}'s history"
    hint = (
        f"Set it to a commit of '{ctx.main}' (the one where the model was adopted); "
        f"`git log --first-parent {ctx.main}` lists them."
    )
    if ctx.git.is_shallow():
        hint = "This is a shallow clone: fetch the whole history (`git fetch --unshallow`, or "
        hint += "`fetch-depth: 0` with actions/checkout) and run verify again."
    raise TorchlaneError(
        f"[tool.torchlane.flow] adopted_at = {adopted!r} {reason}, so there is no starting "
        "point to verify from.",
        hint,
    )


def verify_repository(ctx: Project) -> VerifyReport:
    git = ctx.git
    main_ref, develop_ref = _branch_ref(ctx, ctx.main), _branch_ref(ctx, ctx.develop)
    violations: list[Violation] = []
    exclude = _adoption_point(ctx, main_ref)
    since = exclude or "the root commit"
    chain = _first_parent_chain(ctx, main_ref, exclude)
    missing = set(git.rev_list(main_ref, f"^{develop_ref}"))
    tags = _tags_by_commit(ctx)
    for commit in reversed(chain):
        if not commit.parents:
            continue  # a repository has to start somewhere
        violations += _check_main_commit(ctx, commit, tags.get(commit.sha, []))
        if commit.sha in missing:
            violations.append(Violation(
                rule="develop-behind-main",
                message=f"'{ctx.develop}' does not contain this commit of '{ctx.main}'.",
                hint=f"Bring it over: `git switch {ctx.develop} && git merge --no-ff {ctx.main}` "
                "(finish does this for every release and hotfix).",
                commit=commit.sha,
                subject=commit.subject,
            ))  # fmt: skip
    branches = [b for b in git.branches() if not is_long_lived(b, ctx.config)]
    for name in branches:
        verdict = check_name(name, ctx.config)
        if not verdict.ok:
            violations.append(Violation(
                rule="branch-name",
                message=f"Branch '{name}' breaks the naming conventions: {'; '.join(verdict.problems)}.",
                hint=f"Rename it: `git branch -m {typed_name(name)} {verdict.suggestion}`.",
                branch=name,
            ))  # fmt: skip
    return VerifyReport(
        ok=not violations,
        main=ctx.main,
        develop=ctx.develop,
        since=since,
        checked_main_commits=len(chain),
        checked_branches=len(branches),
        violations=violations,
    )
