"""Would merging each branch into the base conflict now? `git merge-tree --write-tree`, run only
where a conflict is possible.

merge-tree costs a few milliseconds per branch; with a thousand branches that dominates. A merge
can only conflict where both sides changed something related since the merge base:
  - the same path (content, add/add, modify/delete, and every rename case, because renames are
    counted as a deletion plus an addition here: `--no-renames`);
  - a path on one side that is a directory of the other (file/directory conflicts);
  - a directory one side deleted files from while the other side has changes inside it (git's
    directory-rename detection moves those changes, and by default reports that as a conflict).
For a branch whose merge base M sits on the base's first-parent chain, the base side's changes
since M are contained in the union of the chain's per-commit diffs after M, which we index once
for all branches (latest chain position that touched each path, touched anything below each
directory, or deleted anything below it). The branch side is its own diff from M. Branches that
pass this filter are exactly clean; the rest go to merge-tree, in parallel. Branches whose merge
base is not on the chain (or is not unique) always go to merge-tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from torchlane.flow.graph import BaseLine
from torchlane.git import Git

_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


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


@dataclass
class _ChainIndex:
    touched: dict[str, int] = field(default_factory=dict)
    touched_below: dict[str, int] = field(default_factory=dict)
    deleted_below: dict[str, int] = field(default_factory=dict)


def _directories(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _diff_batch(git: Git, pairs: Sequence[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Name-status diffs `old..new` for many (new, old) commit pairs in one diff-tree process."""
    if not pairs:
        return {}
    out = git.run(
        "diff-tree", "--stdin", "-r", "--name-status", "--no-renames", "-z",
        input="".join(f"{new} {old}\n" for new, old in pairs),
    ).stdout  # fmt: skip
    diffs: dict[str, list[tuple[str, str]]] = {new: [] for new, _ in pairs}
    tokens = out.split("\0")
    current: list[tuple[str, str]] | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        # A header is the commit id; a status is one letter, so a path never sits here.
        if _OBJECT_ID.fullmatch(token):
            current = diffs.setdefault(token, [])
            i += 1
        elif token and current is not None and i + 1 < len(tokens):
            current.append((token, tokens[i + 1]))
            i += 2
        else:
            i += 1
    return diffs


def _index_chain(git: Git, base: BaseLine, after: int) -> _ChainIndex:
    """Which chain position last touched each path, anything below each directory, or deleted
    anything below it: one first-parent `git log` over the chain after position `after`."""
    args = ["log", "--first-parent", "--diff-merges=first-parent", "--name-status",
            "--no-renames", "-z", "--format=%x01%H", base.tip]  # fmt: skip
    if after > 0:
        args.append(f"^{base.chain[after]}")
    index = _ChainIndex()
    # Newest first: the first time we see a key holds its latest position.
    for record in git.run(*args).stdout.split("\x01")[1:]:
        tokens = record.split("\0")
        position = base.position[tokens[0].strip()]
        changes = tokens[1:]
        for i in range(0, len(changes) - 1, 2):
            status, path = changes[i].strip("\n"), changes[i + 1]
            if not status:
                break
            index.touched.setdefault(path, position)
            for directory in _directories(path):
                index.touched_below.setdefault(directory, position)
                if status == "D":
                    index.deleted_below.setdefault(directory, position)
    return index


def _may_conflict(changes: Iterable[tuple[str, str]], index: _ChainIndex, since: int) -> bool:
    def after(table: dict[str, int], key: str) -> bool:
        return table.get(key, -1) > since

    for status, path in changes:
        if after(index.touched, path) or after(index.touched_below, path):
            return True
        for directory in _directories(path):
            if after(index.touched, directory) or after(index.deleted_below, directory):
                return True
            if status == "D" and after(index.touched_below, directory):
                return True
    return False


def merge_tree(git: Git, target: str, tip: str) -> MergePrediction:
    result = git.run(
        "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", target, tip,
        check=False,
    )  # fmt: skip
    if result.returncode not in (0, 1):
        detail = (result.stderr or result.stdout).strip().splitlines()
        return MergePrediction(None, (), detail[-1] if detail else "merge-tree failed")
    if result.returncode == 0:
        return MergePrediction(False)
    names = result.stdout.split("\0")[1:]
    files: list[str] = []
    for name in names:
        if not name:
            break
        if name not in files:
            files.append(name)
    return MergePrediction(True, tuple(files))


@dataclass(frozen=True)
class PredictionRun:
    predictions: dict[str, MergePrediction]  # by candidate name
    merge_tree_runs: int


def predict_merges(
    git: Git,
    target: str,
    base: BaseLine,
    candidates: Sequence[Candidate],
    workers: int | None = None,
) -> PredictionRun:
    """Predict, for every candidate, whether merging it into `target` (at `base.tip`) conflicts."""
    predictions = {c.name: MergePrediction(False) for c in candidates if c.merged}
    open_candidates = [c for c in candidates if not c.merged]
    on_chain = [c for c in open_candidates if c.merge_base_position is not None]
    must_merge = [c.name for c in open_candidates if c.merge_base_position is None]
    if on_chain:
        earliest = min(c.merge_base_position or 0 for c in on_chain)
        index = _index_chain(git, base, earliest)
        branch_diffs = _diff_batch(git, sorted({(c.tip, c.merge_base or "") for c in on_chain}))
        for c in on_chain:
            if _may_conflict(branch_diffs.get(c.tip, ()), index, c.merge_base_position or 0):
                must_merge.append(c.name)
            else:
                predictions[c.name] = MergePrediction(False)
    if must_merge:
        # Threads suffice: each job waits on a git process; the GIL is free meanwhile.
        pool_size = workers or max(1, min(len(must_merge), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=pool_size) as pool:
            results = pool.map(lambda name: merge_tree(git, target, name), must_merge)
            predictions.update(zip(must_merge, results, strict=True))
    return PredictionRun(predictions, len(must_merge))
