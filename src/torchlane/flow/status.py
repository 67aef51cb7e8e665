"""`torchlane status`: where every topic, release and hotfix branch stands against the model."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from torchlane.flow.conflicts import Candidate, MergePrediction, predict_merges
from torchlane.flow.graph import (
    BaseLine,
    Divergence,
    counts_from_for_each_ref,
    divergence_from_git,
    has_ahead_behind_atom,
    load_graph,
)
from torchlane.flow.graph_cache import history_parts, load_graph_cached
from torchlane.git import Git
from torchlane.naming import BranchType, check_name, is_long_lived, naming_rules, parse_branch
from torchlane.naming_rules import NamingRules, typed_name

if TYPE_CHECKING:
    from torchlane.project import Project

DAY = 86400.0


@dataclass(frozen=True)
class StatusContext:
    """What `status` reads from a project: from a Project (the CLI) or from the settings
    snapshot without pydantic (`torchlane status` started through __main__'s fast path)."""

    git: Git
    rules: NamingRules
    stale_after_days: float
    long_lived_after_days: float
    state_dir: Path | None  # where the merge-prediction cache lives; None: no cache

    @property
    def main(self) -> str:
        return self.rules.main

    @property
    def develop(self) -> str:
        return self.rules.develop

    @classmethod
    def of_project(cls, project: Project, *, use_cache: bool = True) -> StatusContext:
        flow = project.config.flow
        return cls(
            git=project.git,
            rules=naming_rules(project.config),
            stale_after_days=flow.stale_after_days,
            long_lived_after_days=flow.long_lived_after_days,
            state_dir=project.state_dir if use_cache else None,
        )


@dataclass(frozen=True, kw_only=True)
class BranchStatus:
    name: str
    type: BranchType | None  # None: the name has no branch-type prefix
    base: str  # what ahead/behind are counted against: develop, or main for hotfixes
    tip: str
    ahead: int
    behind: int
    last_commit_at: datetime
    last_commit_days: float
    merge_base: str | None
    forked_at: datetime | None  # the merge base's commit date
    forked_days: float | None
    conflict: bool | None  # merging into develop would conflict now; None: not predicted
    conflict_files: tuple[str, ...]
    conflict_error: str | None
    naming_problems: tuple[str, ...]
    naming_suggestion: str | None
    merged: bool  # everything on it is already in its base
    stale: bool  # no commit for flow.stale_after_days
    long_lived: bool  # unmerged, forked over flow.long_lived_after_days ago and behind its base
    hints: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class StatusReport:
    main: str
    develop: str
    generated_at: datetime
    conflicts_predicted: bool
    merge_tree_runs: (
        int  # how many branches needed a real merge-tree (the rest were provably clean)
    )
    merge_predictions_reused: int  # answers an earlier run left that provably still hold
    # branches answered by one merge of only the files both sides edited (flow/content_merge.py)
    content_merged: int = 0
    branches: list[BranchStatus]


def _when(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _divergences(
    ctx: StatusContext, line: BaseLine, base: str, tips: dict[str, str]
) -> dict[str, Divergence]:
    """Ahead/behind and merge base of each branch (name -> tip) against one base line."""
    result: dict[str, Divergence] = {}
    undecided: list[str] = []
    for name, tip in tips.items():
        found = line.divergence(tip)
        if found is None:
            undecided.append(name)
        else:
            result[name] = found
    if undecided:
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = pool.map(
                lambda n: divergence_from_git(ctx.git, f"refs/heads/{base}", tips[n]), undecided
            )
            result.update(zip(undecided, answers, strict=True))
    return result


def _use_git_counts(
    ctx: StatusContext, base: str, names: list[str], found: dict[str, Divergence]
) -> None:
    """Where git >= 2.41 can count in one walk, let it: it is git's own answer."""
    refs = [f"refs/heads/{n}" for n in names]
    counts = counts_from_for_each_ref(ctx.git, f"refs/heads/{base}", refs)
    for name in names:
        ahead, behind = counts[f"refs/heads/{name}"]
        old = found[name]
        found[name] = Divergence(ahead, behind, old.merge_base, old.merge_base_position)


def collect_status(
    project: Project,
    *,
    predict_conflicts: bool = True,
    use_ahead_behind_atom: bool | None = None,
    now: float | None = None,
    use_cache: bool = True,
) -> StatusReport:
    project.require_initialized()
    return collect(
        StatusContext.of_project(project, use_cache=use_cache),
        predict_conflicts=predict_conflicts,
        use_ahead_behind_atom=use_ahead_behind_atom,
        now=now,
    )


def branch_tips(git: Git) -> dict[str, str]:
    """Every local branch (short name) and its tip."""
    return {ref[len("refs/heads/") :]: sha for ref, sha in git.ref_tips("refs/heads/").items()}


def collect(
    ctx: StatusContext,
    *,
    predict_conflicts: bool = True,
    use_ahead_behind_atom: bool | None = None,
    now: float | None = None,
    tips: dict[str, str] | None = None,
) -> StatusReport:
    """The report, for a repository whose main and develop exist (`tips`: branch_tips, if the
    caller has them already)."""
    rules = ctx.rules
    if tips is None:
        tips = branch_tips(ctx.git)
    branches = {n: t for n, t in tips.items() if not is_long_lived(n, rules)}
    base_of = {
        n: ctx.main
        if (p := parse_branch(n, rules)) is not None and p.type is BranchType.HOTFIX
        else ctx.develop
        for n in branches
    }
    moment = time.time() if now is None else now
    if not branches:
        return StatusReport(
            main=ctx.main,
            develop=ctx.develop,
            generated_at=_when(int(moment)),
            conflicts_predicted=predict_conflicts,
            merge_tree_runs=0,
            merge_predictions_reused=0,
            branches=[],
        )
    wanted = {tips[ctx.main], tips[ctx.develop], *branches.values()}
    history = None
    if ctx.state_dir is None:
        graph = load_graph(ctx.git, wanted)
    else:
        history = history_parts(ctx.git)
        graph = load_graph_cached(ctx.git, wanted, ctx.state_dir, history)
    # Conflicts are predicted into develop for every branch; main is a base for hotfixes only.
    lines = {base: BaseLine(graph, tips[base]) for base in {ctx.develop, *base_of.values()}}
    divergence: dict[str, dict[str, Divergence]] = {}
    for base, line in lines.items():
        # Against develop every branch (conflicts are predicted into develop); against main
        # only the hotfixes.
        members = {n: t for n, t in branches.items() if base == ctx.develop or base_of[n] == base}
        divergence[base] = _divergences(ctx, line, base, members)
    if use_ahead_behind_atom is None:
        use_ahead_behind_atom = has_ahead_behind_atom()
    if use_ahead_behind_atom:
        for base in lines:
            _use_git_counts(ctx, base, list(divergence[base]), divergence[base])

    predictions: dict[str, MergePrediction] = {}
    runs = reused = content_merged = 0
    if predict_conflicts:
        into_develop = divergence[ctx.develop]
        # Short names, as a user would type them, label conflict paths the same way; a name
        # that is also a tag would mean the tag, so those get the full ref.
        tag_names = set(ctx.git.tags())
        candidates = [
            Candidate(
                f"refs/heads/{n}" if n in tag_names else n,
                tip,
                into_develop[n].merge_base,
                into_develop[n].merge_base_position,
                merged=lines[ctx.develop].contains(tip),
            )
            for n, tip in branches.items()
        ]
        develop_spec = f"refs/heads/{ctx.develop}" if ctx.develop in tag_names else ctx.develop
        run = predict_merges(
            ctx.git,
            develop_spec,
            lines[ctx.develop],
            candidates,
            cache_dir=ctx.state_dir,
            history=history,
        )
        predictions = {
            n: run.predictions[c.name] for n, c in zip(branches, candidates, strict=True)
        }
        runs = run.merge_tree_runs
        reused = run.reused
        content_merged = run.content_merged

    report = [
        _branch_status(
            ctx,
            name=name,
            tip=tip,
            base=base_of[name],
            found=divergence[base_of[name]][name],
            prediction=predictions.get(name),
            timestamps=graph.timestamps,
            now=moment,
        )
        for name, tip in sorted(branches.items())
    ]
    return StatusReport(
        main=ctx.main,
        develop=ctx.develop,
        generated_at=_when(int(moment)),
        conflicts_predicted=predict_conflicts,
        merge_tree_runs=runs,
        merge_predictions_reused=reused,
        content_merged=content_merged,
        branches=report,
    )


def _branch_status(
    ctx: StatusContext,
    *,
    name: str,
    tip: str,
    base: str,
    found: Divergence,
    prediction: MergePrediction | None,
    timestamps: dict[str, int],
    now: float,
) -> BranchStatus:
    last = timestamps[tip]
    last_days = max(0.0, (now - last) / DAY)
    fork_ts = timestamps.get(found.merge_base) if found.merge_base else None
    fork_days = None if fork_ts is None else max(0.0, (now - fork_ts) / DAY)
    verdict = check_name(name, ctx.rules)
    # +0 -0 is a branch just started; +0 -N has nothing that is not in its base any more.
    merged = found.ahead == 0 and found.behind > 0 and found.merge_base == tip
    stale = not merged and last_days > ctx.stale_after_days
    long_lived = (
        not merged
        and fork_days is not None
        and fork_days > ctx.long_lived_after_days
        and found.behind > 0
    )
    hints: list[str] = []
    if not verdict.ok and verdict.suggestion:
        hints.append(f"rename it: git branch -m {typed_name(name)} {verdict.suggestion}")
    if merged:
        hints.append(f"all of it is in {base}: if its work is done, `git branch -d {name}`")
    if prediction is not None and prediction.conflict:
        files = ", ".join(prediction.files[:3]) + (
            f" and {len(prediction.files) - 3} more" if len(prediction.files) > 3 else ""
        )
        if verdict.type is not None and verdict.type.is_versioned:
            hints.append(f"finishing it will stop at a conflict in {ctx.develop} ({files})")
        else:
            hints.append(f"merging into {ctx.develop} would conflict ({files}): `torchlane sync`")
    elif long_lived:
        hints.append(f"forked {fork_days:.0f} days ago and {found.behind} behind: `torchlane sync`")
    if stale:
        hints.append(f"no commit for {last_days:.0f} days: finish it or delete it")
    return BranchStatus(
        name=name,
        type=verdict.type,
        base=base,
        tip=tip,
        ahead=found.ahead,
        behind=found.behind,
        last_commit_at=_when(last),
        last_commit_days=round(last_days, 2),
        merge_base=found.merge_base,
        forked_at=None if fork_ts is None else _when(fork_ts),
        forked_days=None if fork_days is None else round(fork_days, 2),
        conflict=None if prediction is None else prediction.conflict,
        conflict_files=() if prediction is None else prediction.files,
        conflict_error=None if prediction is None else prediction.error,
        naming_problems=tuple(verdict.problems),
        naming_suggestion=verdict.suggestion,
        merged=merged,
        stale=stale,
        long_lived=long_lived,
        hints=tuple(hints),
    )
