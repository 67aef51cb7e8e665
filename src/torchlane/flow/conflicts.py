"""Would merging each branch into the base conflict now? `git merge-tree --write-tree` (git >=
2.38, no work-tree changes), run only where a conflict is possible (see flow/prefilter.py), in
parallel. Branches whose merge base is not on the base's first-parent chain always get it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from torchlane.flow.graph import BaseLine
from torchlane.flow.prefilter import (
    diff_batch,
    index_chain,
    lookup_keys,
    may_conflict,
    pathspecs,
    tip_tree,
)
from torchlane.git import Git, failure_detail


@dataclass(frozen=True)
class MergePrediction:
    conflict: bool | None  # None: git could not predict it (e.g. unrelated histories)
    files: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Candidate:
    name: str  # the branch as merge-tree is given it; it labels file/directory conflict paths
    tip: str
    merge_base: str | None
    merge_base_position: int | None
    merged: bool = False  # already in the target's history: merging it changes nothing


def merge_tree(git: Git, target: str, tip: str) -> MergePrediction:
    result = git.run(
        "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", target, tip,
        check=False,
    )  # fmt: skip
    if result.returncode not in (0, 1):
        return MergePrediction(None, (), failure_detail(result))
    if result.returncode == 0:
        return MergePrediction(False)
    files: list[str] = []
    for name in result.stdout.split("\0")[1:]:
        if not name:
            break
        if name not in files:
            files.append(name)
    return MergePrediction(True, tuple(files))


@dataclass(frozen=True)
class PredictionRun:
    predictions: dict[str, MergePrediction]  # by candidate name
    merge_tree_runs: int


def _possible_conflicts(
    git: Git, base: BaseLine, on_chain: Sequence[Candidate], cores: int
) -> list[Candidate]:
    branch_diffs = diff_batch(git, sorted({(c.tip, c.merge_base or "") for c in on_chain}))
    tip = tip_tree(git, base.tip)
    keys: set[str] = set()
    for changes in branch_diffs.values():
        keys |= lookup_keys(changes, tip)
    earliest = min(c.merge_base_position or 0 for c in on_chain)
    index = index_chain(git, base, earliest, pathspecs(keys), cores)
    return [
        c
        for c in on_chain
        if may_conflict(branch_diffs.get(c.tip, ()), index, tip, c.merge_base_position or 0)
    ]


def predict_merges(
    git: Git,
    target: str,
    base: BaseLine,
    candidates: Sequence[Candidate],
    workers: int | None = None,
) -> PredictionRun:
    """Predict, for every candidate, whether merging it into `target` (at `base.tip`) conflicts."""
    cores = workers or os.cpu_count() or 1
    predictions = {c.name: MergePrediction(False) for c in candidates}
    unmerged = [c for c in candidates if not c.merged]
    on_chain = [c for c in unmerged if c.merge_base_position is not None]
    must_merge = [c.name for c in unmerged if c.merge_base_position is None]
    if on_chain:
        must_merge += [c.name for c in _possible_conflicts(git, base, on_chain, cores)]
    if must_merge:
        # Threads suffice: each job waits on a git process; the GIL is free meanwhile.
        with ThreadPoolExecutor(max_workers=max(1, min(len(must_merge), cores))) as pool:
            results = pool.map(lambda name: merge_tree(git, target, name), must_merge)
            predictions.update(zip(must_merge, results, strict=True))
    return PredictionRun(predictions, len(must_merge))
