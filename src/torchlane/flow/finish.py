"""`torchlane finish [BRANCH]`: merge a branch where the model sends it, as one journaled transaction.

feature/bugfix/refactor -> develop. release -> main, annotated tag, then the tagged main into
develop. hotfix -> main, annotated tag, then the tagged main into develop AND into every open
release branch (git-flow leaves the open release without the fix). Always --no-ff, never an editor.

The merge gate comes first: a branch whose tip the gate fails (gate/decide.py's run_gate on the
evaluation records in git notes) is refused, and so is one without a verdict when the project
gates merges (it declares an eval section or gate rules) and it is a topic branch. `--skip-gate REASON` finishes anyway
and writes the reason into the merge commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torchlane.errors import TorchlaneError, usage_error
from torchlane.flow.divergence import require_up_to_date
from torchlane.flow.journal import (
    DONE,
    SKIPPED,
    Journal,
    Step,
    git_operation_in_progress,
    new_journal,
    require_no_operation,
    save_journal,
)
from torchlane.flow.transaction import ConflictReport, drive, resume
from torchlane.git import Git, failure_detail
from torchlane.naming import BranchType, ParsedBranch
from torchlane.project import Project

if TYPE_CHECKING:
    from torchlane.gate.rules import GateDecision


@dataclass
class MergeDone:
    source: str
    target: str
    commit: str | None  # None: the target already contained the source, nothing to merge


@dataclass
class FinishResult:
    branch: str
    type: str
    merges: list[MergeDone] = field(default_factory=list)
    tag: str | None = None
    branches_deleted: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    remote_branches_deleted: list[str] = field(default_factory=list)
    completed: bool = False
    conflict: ConflictReport | None = None
    notes: list[str] = field(default_factory=list)
    gate: str | None = None  # what the gate said about the branch tip, in one line
    model: str | None = None  # what the release tag was bound to (models/binding.py)


def gates_merges(ctx: Project) -> bool:
    """Whether the project gates merges on model quality: it declares how it evaluates
    ([tool.torchlane.eval]) or what may not get worse ([tool.torchlane.gate.metrics])."""
    config = ctx.config
    return "eval" in config.model_fields_set or bool(config.gate.metrics)


def _verdict_line(decision: GateDecision) -> str:
    failed = [v for v in decision.metrics if v.verdict == "fail"]
    if not failed:
        return decision.messages[-1] if decision.messages else decision.outcome
    parts = []
    for v in failed:
        values = f"{_num(v.baseline)} -> {_num(v.candidate)}"
        p = "" if v.p_value is None else f", p = {v.p_value:.2g}"
        parts.append(f"{v.metric} {values} ({v.reason}{p})")
    return "; ".join(parts)


def _num(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4g}"


def check_gate(ctx: Project, parsed: ParsedBranch, skip_reason: str | None) -> str | None:
    """Refuse a branch the gate fails (or cannot judge, where merges are gated); return the
    line that goes into the merge commit when the gate is skipped, else None."""
    from torchlane.gate.decide import run_gate
    from torchlane.metrics.history import notes_ref_of

    decision = run_gate(ctx, parsed.name, notes_ref_of(ctx))
    if decision.passed:
        return None if skip_reason is None else f"Gate skipped (it passed): {skip_reason}"
    judged = decision.outcome == "fail"
    # Without a verdict only topic branches are held back: a release or hotfix is compared with
    # the latest release tag, whose merge commit on main carries no records of its own.
    if not judged and not (parsed.type.is_topic and gates_merges(ctx)):
        return None if skip_reason is None else f"Gate skipped: {skip_reason}"
    line = _verdict_line(decision)
    if skip_reason is not None:
        return f"Gate skipped ({decision.outcome}: {line}): {skip_reason}"
    skip = f'`torchlane finish {parsed.name} --skip-gate "REASON"`'
    if judged:
        raise TorchlaneError(
            f"'{parsed.name}' failed the merge gate at {decision.candidate[:12]}: {line}.",
            "Fix the regression, commit, and evaluate again (`torchlane eval`, then "
            f"`torchlane gate {parsed.name}`); to merge it anyway, {skip} writes the reason "
            "into the merge commit.",
        )
    raise TorchlaneError(
        f"'{parsed.name}' has no gate verdict ({decision.outcome}: {line}), and this project "
        "gates merges (it declares [tool.torchlane.eval] or gate rules).",
        f"{decision.hint or 'Evaluate it with `torchlane eval`.'} To merge it anyway, {skip} "
        "writes the reason into the merge commit.",
    )


def _resolve_branch(ctx: Project, branch: str | None) -> ParsedBranch:
    name = branch or ctx.git.current_branch()
    if name is None:
        raise usage_error(
            "HEAD is detached, so there is no current branch to finish.",
            "Name it: `torchlane finish feature/<name>`.",
        )
    if name in (ctx.main, ctx.develop):
        raise TorchlaneError(
            f"'{name}' is a long-lived branch; only feature, bugfix, refactor, release and "
            "hotfix branches are finished.",
            "Switch to the branch you want to finish, or name it: `torchlane finish BRANCH`.",
        )
    if not ctx.git.branch_exists(name):
        raise TorchlaneError(
            f"There is no local branch '{name}'.",
            f"Check the name with `git branch --list '*{name.split('/')[-1]}*'`.",
        )
    parsed = ctx.parse(name)
    if parsed is None:
        raise TorchlaneError(
            f"'{name}' is not a feature, bugfix, refactor, release or hotfix branch, so "
            "torchlane does not know where it goes.",
            f"Rename it with a prefix, e.g. `git branch -m {name} feature/{name}`.",
        )
    if parsed.type.is_versioned and parsed.version is None:
        raise TorchlaneError(
            f"'{name}' does not end in a semantic version, so it cannot be tagged.",
            f"Rename it, e.g. `git branch -m {name} {ctx.prefix(parsed.type)}v1.2.3`.",
        )
    return parsed


def _require_above_latest_release(ctx: Project, parsed: ParsedBranch) -> None:
    """A tag below the latest release would make `git describe` and version sorts lie."""
    latest = ctx.latest_release()
    assert parsed.version is not None
    if latest is None or parsed.version.sort_key() > latest[0].sort_key():
        return
    newer = latest[0]
    higher = (
        f"{ctx.prefix(parsed.type)}{ctx.config.flow.version_tag_prefix}"
        f"{newer.major}.{newer.minor}.{newer.patch + 1}"
    )
    raise TorchlaneError(
        f"'{parsed.name}' would be tagged {ctx.tag_for(parsed.version)}, which is not above the "
        f"latest release {latest[1]}.",
        f"Rename it to a higher version first: `git branch -m {parsed.name} {higher}`.",
    )


def _merge(source: str, target: str, label: str | None = None, body: str | None = None) -> Step:
    shown = label or source
    message = f"Merge {shown} into {target}" + (f"\n\n{body}" if body else "")
    return Step("merge", target=target, source=source, message=message)


def plan_finish(
    ctx: Project, parsed: ParsedBranch, *, keep: bool, push: bool, gate_note: str | None = None
) -> tuple[list[Step], list[str]]:
    """The steps, and every local ref they may touch."""
    branch, remote = parsed.name, ctx.config.flow.remote
    steps: list[Step] = []
    refs = [f"refs/heads/{branch}"]
    integrated: list[str] = [ctx.develop]
    tag_ref: str | None = None
    if parsed.type.is_topic:
        steps.append(_merge(branch, ctx.develop, body=gate_note))
    else:
        assert parsed.version is not None
        tag = ctx.tag_for(parsed.version)
        tag_ref = f"refs/tags/{tag}"
        if ctx.git.ref_value(tag_ref) is not None:
            raise TorchlaneError(
                f"The tag {tag} already exists, so '{branch}' cannot be released as {tag}.",
                f"Look at it with `git show {tag}`; rename the branch to the next version.",
            )
        _require_above_latest_release(ctx, parsed)
        label = "Release" if parsed.type is BranchType.RELEASE else "Hotfix"
        steps.append(_merge(branch, ctx.main, body=gate_note))
        steps.append(
            Step("tag", target=tag_ref, source=f"refs/heads/{ctx.main}", message=f"{label} {tag}")
        )
        refs.append(tag_ref)
        targets = [ctx.develop]
        if parsed.type is BranchType.HOTFIX:
            targets += [r.name for r in ctx.open_branches(BranchType.RELEASE)]
        integrated = [ctx.main, *targets]
        steps += [_merge(f"refs/heads/{ctx.main}", t, f"{ctx.main} ({tag})") for t in targets]
    refs += [f"refs/heads/{name}" for name in integrated]
    steps.append(Step("switch", target=ctx.develop))
    if not keep:
        steps.append(Step("delete-branch", target=branch, source=integrated[0]))
    if push:
        updated = [ctx.main] if tag_ref else []
        updated += integrated[1:] if tag_ref else [ctx.develop]
        if keep:
            updated.append(branch)
        steps.append(
            Step("push", source=remote, refs=[f"refs/heads/{b}:refs/heads/{b}" for b in updated])
        )
        if tag_ref:  # exactly the new tag, after the branch it is on
            steps.append(Step("push", source=remote, refs=[f"{tag_ref}:{tag_ref}"]))
        tracking = ctx.git.ref_value(f"refs/remotes/{remote}/{branch}")
        if not keep and tracking is not None:
            steps.append(Step("push-delete", target=branch, source=remote, sha=tracking))
    return steps, refs


def _preflight(ctx: Project, parsed: ParsedBranch, *, push: bool, fetch: bool) -> None:
    git, remote = ctx.git, ctx.config.flow.remote
    in_progress = git_operation_in_progress(git)
    if in_progress:
        raise TorchlaneError(
            f"A git {in_progress} is in progress in this work tree.",
            f"Complete it or run `git {in_progress} --abort`, then finish again.",
        )
    ctx.require_clean(f"finish '{parsed.name}'")
    has_remote = remote in git.remotes()
    if (push or fetch) and not has_remote:
        raise TorchlaneError(
            f"There is no remote '{remote}' to {'push to' if push else 'fetch from'}.",
            f"Add it (`git remote add {remote} URL`) or set [tool.torchlane.flow] remote.",
        )
    if fetch:
        fetched = git.fetch(remote, options=["--prune"], check=False)
        if not fetched.ok:
            raise TorchlaneError(
                f"`git fetch {remote}` failed: {failure_detail(fetched)}",
                "Check the network and your credentials, or run without --fetch.",
            )
    if has_remote:
        involved = [parsed.name, ctx.develop]
        if parsed.type.is_versioned:
            involved.append(ctx.main)
        if parsed.type is BranchType.HOTFIX:
            involved += [r.name for r in ctx.open_branches(BranchType.RELEASE)]
        require_up_to_date(git, remote, involved, f"finish '{parsed.name}'")


def summarize(journal: Journal) -> FinishResult:
    args = journal.arguments
    result = FinishResult(branch=str(args["branch"]), type=str(args["type"]))
    for step in journal.steps:
        if step.state not in (DONE, SKIPPED):
            continue
        if step.kind == "merge":
            label = step.source.removeprefix("refs/heads/")
            result.merges.append(MergeDone(label, step.target, step.result or None))
        elif step.kind == "tag":
            result.tag = step.target.removeprefix("refs/tags/")
        elif step.kind == "delete-branch":
            result.branches_deleted.append(step.target)
        elif step.kind == "push":
            result.pushed += [r.split(":")[-1] for r in step.refs]
        elif step.kind == "push-delete":
            result.remote_branches_deleted.append(f"{step.source}/{step.target}")
    result.completed = journal.step is None
    return result


def protected_from_me(ctx: Project, branches: list[str]) -> list[str]:
    """The branches among `branches` this user may not push directly: the pre-push hook's rule
    (hooks/prepush.py), whether or not the hook is installed, so that advice and hook agree."""
    from torchlane.hooks.prepush import direct_push_allowed

    hooks = ctx.config.hooks
    if not hooks.protect_long_lived:
        return []
    allowed = list(hooks.allow_direct_push)
    return [
        b
        for b in dict.fromkeys(branches)
        if b in (ctx.main, ctx.develop) and direct_push_allowed(b, allowed) is None
    ]


_PROTECTED_HINT = (
    "changes reach {them} through pull requests: publish the branch with `torchlane publish` "
    "and merge its pull request. Release managers listed in [tool.torchlane.hooks] "
    "allow_direct_push (or running with TORCHLANE_ALLOW_PUSH=1) may push {them} directly."
)


def _require_push_allowed(ctx: Project, steps: list[Step]) -> None:
    pushed = [
        ref.split(":")[-1].removeprefix("refs/heads/")
        for step in steps
        if step.kind == "push"
        for ref in step.refs
        if ref.split(":")[-1].startswith("refs/heads/")
    ]
    blocked = protected_from_me(ctx, pushed)
    if blocked:
        names = " and ".join(f"'{b}'" for b in blocked)
        raise TorchlaneError(
            f"--push would push {names} directly, which the branch protection refuses "
            "(the same rule as torchlane's pre-push hook).",
            "Finish without --push, or better: "
            + _PROTECTED_HINT.format(them="them" if len(blocked) > 1 else "it"),
        )


def _not_pushed_notes(ctx: Project, result: FinishResult) -> list[str]:
    remote = ctx.config.flow.remote
    if remote not in ctx.git.remotes():
        return []
    branches = [m.target for m in result.merges if m.commit]
    notes = []
    blocked = protected_from_me(ctx, branches)
    if blocked:
        names = " and ".join(blocked)
        notes.append(
            f"Nothing was pushed, and {names} {'are' if len(blocked) > 1 else 'is'} protected: "
            + _PROTECTED_HINT.format(them="them" if len(blocked) > 1 else "it")
        )
    elif branches:
        push = f"git push {remote} {' '.join(dict.fromkeys(branches))}"
        if result.tag:
            push += f" && git push {remote} refs/tags/{result.tag}"
        notes.append(
            f"Nothing was pushed; share it with `{push}` (or `torchlane finish --push` next time)."
        )
    for branch in result.branches_deleted:
        if ctx.git.ref_value(f"refs/remotes/{remote}/{branch}") is not None:
            notes.append(
                f"{remote}/{branch} still exists; delete it with "
                f"`git push {remote} --delete {branch}` when its pull request is closed."
            )
    return notes


def _outcome(ctx: Project, journal: Journal, conflict: ConflictReport | None) -> FinishResult:
    result = summarize(journal)
    result.conflict = conflict
    gate = journal.arguments.get("gate")
    result.gate = str(gate) if gate else None
    if result.completed and not journal.arguments.get("push"):
        result.notes = _not_pushed_notes(ctx, result)
    if result.completed and result.tag and journal.arguments.get("model"):
        from torchlane.models.finish import bind_release

        result.model, pushed_note = bind_release(
            ctx, result.tag, journal.arguments["model"], push=bool(journal.arguments.get("push"))
        )
        result.notes += pushed_note
    return result


def finish_branch(
    ctx: Project,
    branch: str | None,
    *,
    keep: bool,
    push: bool,
    fetch: bool,
    skip_gate: str | None = None,
    no_model: bool = False,
) -> FinishResult:
    git: Git = ctx.git
    require_no_operation(git, "finish")
    ctx.require_initialized()
    if skip_gate is not None and not skip_gate.strip():
        raise usage_error(
            "--skip-gate needs a reason; it is written into the merge commit.",
            'Say why, e.g. --skip-gate "accuracy drop accepted: new tokenizer, see #123".',
        )
    parsed = _resolve_branch(ctx, branch)
    if no_model and not parsed.type.is_versioned:
        raise usage_error(
            "--no-model is for release and hotfix branches; a topic branch binds no model.",
            f"Finish it without --no-model: `torchlane finish {parsed.name}`.",
        )
    _preflight(ctx, parsed, push=push, fetch=fetch)
    gate_note = check_gate(ctx, parsed, skip_gate.strip() if skip_gate else None)
    model = None
    if parsed.type.is_versioned:  # a release ships its evaluated model (models/binding.py)
        from torchlane.models.binding import plan_binding

        model = plan_binding(ctx, parsed.name, no_model=no_model, gate=gate_note)
    steps, refs = plan_finish(ctx, parsed, keep=keep, push=push, gate_note=gate_note)
    _require_push_allowed(ctx, steps)
    arguments: dict[str, Any] = {
        "branch": parsed.name,
        "type": parsed.type.value,
        "keep": keep,
        "push": push,
        "gate": gate_note,
        "model": model,
    }
    journal = new_journal(git, "finish", arguments, steps, refs)
    save_journal(git, journal, create=True)
    return _outcome(ctx, journal, drive(git, journal))


def continue_finish(ctx: Project) -> FinishResult:
    journal, conflict = resume(ctx.git, "finish")
    return _outcome(ctx, journal, conflict)
