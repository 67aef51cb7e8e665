"""Would merging each branch into the base conflict now? `git merge-tree --write-tree` (git >=
2.38, no work-tree changes), run only where a conflict is possible (see flow/prefilter.py).
Branches whose merge base is not on the base's first-parent chain always get it.
A branch whose only possible conflicts are files both sides edited is answered instead by one
synthetic merge of those files' versions for all such branches (flow/content_merge.py).

One git process per merge spends most of its time starting up and loading the same trees again,
so the merges go through `git merge-tree --stdin` (one process merging many pairs), split into
one process per core. A merge git refuses (unrelated histories, a vanished ref) stops that
process; the merges after it go on in a new one, and the refused one is asked alone, for its
error. A git whose merge-tree lacks --stdin gets one process per merge.

merge-tree writes every tree (and every conflicted file) it builds: the merges write into a
scratch object directory (flow/scratch.py), so the repository gains nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from torchlane.flow import merge_cache
from torchlane.flow.content_merge import (
    ContentCase,
    content_case,
    edited_on_both_sides,
    merge_contents,
)
from torchlane.flow.graph import BaseLine
from torchlane.flow.parallel import in_pieces
from torchlane.flow.prefilter import (
    Changes,
    Objects,
    Sides,
    TipTree,
    changed_keys,
    changed_since,
    diff_batch,
    directories,
    lookup_keys,
    lookup_objects,
    may_conflict,
    modes_at,
    old_side_objects,
    tree_of,
)
from torchlane.flow.scratch import UNCOMPRESSED, scratch_objects
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


def merge_tree(
    git: Git, target: str, tip: str, env: Mapping[str, str] | None = None
) -> MergePrediction:
    result = git.run(
        *UNCOMPRESSED, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z",
        target, tip, check=False, env=env,
    )  # fmt: skip
    # A name git cannot merge (a ref that vanished) also exits 1, with no tree on stdout.
    if result.returncode not in (0, 1) or not result.stdout:
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


_PER_PROCESS = 50  # fewer merges than this are not worth another process
_UNSUPPORTED = 129  # git's exit status for an unknown option


def _parse_batch(out: str) -> list[MergePrediction]:
    """The complete records of `merge-tree --stdin --name-only --no-messages -z` output: per
    merge `<1 clean | 0 conflicted> NUL <tree> NUL (<path> NUL)* NUL`."""
    tokens = out.split("\0")
    results: list[MergePrediction] = []
    i = 0
    while i + 2 < len(tokens) and tokens[i] in ("0", "1"):
        try:
            # The record's closing NUL is an empty token with text after it: the last token
            # (what follows the final NUL) being empty only means the output was cut there.
            end = tokens.index("", i + 2, len(tokens) - 1)
        except ValueError:
            break
        if tokens[i] == "1":
            results.append(MergePrediction(False))
        else:
            results.append(MergePrediction(True, tuple(dict.fromkeys(tokens[i + 2 : end]))))
        i = end + 1
    return results


def merge_tree_batch(
    git: Git, target: str, names: Sequence[str], env: Mapping[str, str] | None = None
) -> dict[str, MergePrediction]:
    """merge_tree(git, target, name) for every name, from as few git processes as git allows."""
    results: dict[str, MergePrediction] = {}
    pending = list(names)
    while pending:
        done = git.run(
            *UNCOMPRESSED, "merge-tree", "--stdin", "--name-only", "--no-messages", "-z",
            input="".join(f"{target} {name}\n" for name in pending), check=False, env=env,
        )  # fmt: skip
        answers = _parse_batch(done.stdout)[: len(pending)]
        results.update(zip(pending, answers, strict=False))
        if len(answers) == len(pending):
            break
        if done.returncode == _UNSUPPORTED and not answers:
            results.update((name, merge_tree(git, target, name, env)) for name in pending)
            break
        refused = pending[len(answers)]
        results[refused] = merge_tree(git, target, refused, env)
        pending = pending[len(answers) + 1 :]
    return results


@dataclass(frozen=True)
class PredictionRun:
    predictions: dict[str, MergePrediction]  # by candidate name
    merge_tree_runs: int
    reused: int = 0  # predictions taken from the cache of an earlier run (flow/merge_cache.py)
    content_merged: int = 0  # answered by the one merge of edited files (flow/content_merge.py)


@dataclass(frozen=True)
class _Facts:
    """What a run has read about the base tip and the candidates' changes."""

    base_tip: str
    diffs: dict[str, Changes]  # by candidate tip: what it changed since its merge base
    sides: Sides  # modes and object ids of those changes (fresh candidates only)
    tip: TipTree
    objects: Objects


def _possible_conflicts(
    git: Git, facts: _Facts, examine: Sequence[Candidate]
) -> tuple[list[tuple[Candidate, set[str]]], dict[str, str]]:
    """The candidates that may conflict (see flow/prefilter.py), each with the keys the base
    side changed since its merge base, given `facts.objects` at every key of their changes, at
    their merge bases and at the base's tip; and the base tip's modes at the paths they
    changed."""
    tip = facts.tip
    queries = [(c.merge_base or "", lookup_keys(facts.diffs.get(c.tip, ()), tip)) for c in examine]
    changed = changed_since(facts.base_tip, queries, facts.objects)
    paths = {p for c in examine for status, p in facts.diffs.get(c.tip, ()) if status != "A"}
    modes = modes_at(git, facts.base_tip, paths)
    for c, since in zip(examine, changed, strict=True):
        since.update(_mode_changes(c.tip, facts, since, modes))
    return [
        (c, since)
        for c, since in zip(examine, changed, strict=True)
        if may_conflict(facts.diffs.get(c.tip, ()), tip, since)
    ], modes


def _mode_changes(tip: str, facts: _Facts, changed: set[str], modes: dict[str, str]) -> set[str]:
    """The paths the branch changed whose object the base side kept but whose mode it changed
    (a chmod, or a type change that kept the bytes). changed_since compares object ids only,
    yet git sees a change there, which conflicts with the branch deleting the path or changing
    its type. Unknown modes (an answer from the cache carries none) count as changed."""
    found: set[str] = set()
    for status, path in facts.diffs.get(tip, ()):
        if status == "A" or path in changed:
            continue
        ends = facts.sides.get((tip, path))
        if ends is None or modes.get(path) != ends[0][0]:
            found.add(path)
    return found


def _content_cases(
    facts: _Facts, doubtful: list[tuple[Candidate, set[str]]], modes: dict[str, str]
) -> tuple[list[ContentCase], list[str]]:
    """The doubtful candidates whose only doubt is files both sides edited (as content merge
    cases), and the names of the rest, which need a real merge."""
    cases: list[ContentCase] = []
    rest: list[str] = []
    for c, since in doubtful:
        paths = edited_on_both_sides(facts.diffs.get(c.tip, []), facts.tip, since)
        case = None
        if paths:
            case = content_case(
                c.name, c.tip, paths, sides=facts.sides, target_tip=facts.base_tip,
                objects=facts.objects, modes=modes,
            )  # fmt: skip
        if case is None:
            rest.append(c.name)
        else:
            cases.append(case)
    return cases, rest


def _merge(
    git: Git, target: str, cases: list[ContentCase], names: list[str], cores: int
) -> tuple[dict[str, MergePrediction], int, int]:
    """The predictions of the content cases (one synthetic merge) and of the named candidates
    (real merges), with how many of each were made."""
    if not cases and not names:
        return {}, 0, 0
    with scratch_objects(git) as scratch:
        answers, fallback = merge_contents(git, cases, scratch, cores)
        found = {name: MergePrediction(bool(files), files) for name, files in answers.items()}
        names = names + fallback
        found.update(merge_in_parallel(git, target, names, cores, scratch))
    return found, len(names), len(answers)


def _existing_directories(
    candidate: Candidate, changes: Changes, objects: Objects
) -> frozenset[str]:
    """The directories above the candidate's changed paths that exist at its merge base (those
    git could not say about count as existing: the cache then keeps watching them)."""
    above = {d for _, path in changes for d in directories(path)}
    return frozenset(
        d for d in above if objects.get(f"{candidate.merge_base}:{d}", ("?", "?"))[1] != ""
    )


def _last_run(
    git: Git, cache_dir: Path | None, target: str, base: BaseLine, history: list[bytes] | None
) -> tuple[merge_cache.MergeCache | None, dict[str, merge_cache.Entry], Changes]:
    """The cache, the entries of the last run that may be reused, and what changed between
    the target tip they answered against and this one."""
    if cache_dir is None:
        return None, {}, []
    cache = merge_cache.load(
        cache_dir / merge_cache.CACHE_NAME, merge_cache.environment_key(git, target, history)
    )
    if cache.target_tip is not None:
        found = merge_cache.target_changes(git, cache.target_tip, base.tip)
        if found is not None and not merge_cache.affects_everything(found):
            return cache, cache.entries, found
    return cache, {}, []


def predict_merges(
    git: Git,
    target: str,
    base: BaseLine,
    candidates: Sequence[Candidate],
    *,
    workers: int | None = None,
    cache_dir: Path | None = None,
    history: list[bytes] | None = None,
) -> PredictionRun:
    """Predict, for every candidate, whether merging it into `target` (at `base.tip`) conflicts.

    With `cache_dir`, answers from the last run that provably still hold are reused and this
    run's answers are kept for the next (flow/merge_cache.py); `history`:
    graph_cache.history_parts(git), when the caller has it."""
    cores = workers or os.cpu_count() or 1
    predictions = {c.name: MergePrediction(False) for c in candidates}
    unmerged = [c for c in candidates if not c.merged]
    on_chain = [c for c in unmerged if c.merge_base_position is not None]
    must_merge = [c.name for c in unmerged if c.merge_base_position is None]
    cache, previous, target_diff = _last_run(
        git, cache_dir if on_chain else None, target, base, history
    )
    kept = {
        c.name: entry
        for c in on_chain
        if (entry := previous.get(c.name)) is not None
        and (entry.tip, entry.merge_base) == (c.tip, c.merge_base)
    }
    fresh = [c for c in on_chain if c.name not in kept]
    diffs = {c.tip: kept[c.name].changes for c in on_chain if c.name in kept}
    sides: Sides = {}  # modes and object ids at the paths the fresh candidates changed
    pairs = sorted({(c.tip, c.merge_base or "") for c in fresh})
    diffs.update(diff_batch(git, pairs, sides))
    keys = {c.name: changed_keys(diffs.get(c.tip, ())) for c in on_chain}
    new_keys = changed_keys(target_diff)
    # What the tip has at each key: kept entries know most of it from the last run.
    known: dict[str, str] = {}
    for c in on_chain:
        if c.name in kept:
            known.update(merge_cache.known_at_new_tip(kept[c.name], new_keys))
    at_tip = {k for c in on_chain if c.name in kept for k in keys[c.name] if k not in known}
    at_tip.update(k for c in fresh for k in keys[c.name])  # their oids are compared, too
    # The fresh candidates' merge-base side is in their diffs; git is asked for the rest.
    objects: Objects = {}
    for c in fresh:
        objects.update(old_side_objects(sides, c.tip, c.merge_base or "", keys[c.name]))
    objects.update(
        lookup_objects(
            git,
            [f"{base.tip}:{k}" for k in sorted(at_tip)]
            + [
                n
                for c in fresh
                for k in keys[c.name]
                if (n := f"{c.merge_base}:{k}") not in objects
            ],
        )
    )
    tip = tree_of(base.tip, objects)
    tip.directories.update(k for k, kind in known.items() if kind == "d")
    tip.others.update(k for k, kind in known.items() if kind == "f")
    reused = 0
    recheck: list[Candidate] = []
    for c in on_chain:
        entry = kept.get(c.name)
        if entry is None:
            continue
        if merge_cache.still_valid(entry, target_diff, new_keys, tip):
            predictions[c.name] = MergePrediction(entry.conflict, entry.files)
            reused += 1
        else:
            recheck.append(c)
    if recheck:
        names = [f"{commit}:{k}" for c in recheck for k in keys[c.name]
                 for commit in (c.merge_base, base.tip)]  # fmt: skip
        objects.update(lookup_objects(git, names))
    facts = _Facts(base.tip, diffs, sides, tip, objects)
    doubtful, modes = _possible_conflicts(git, facts, fresh + recheck)
    cases, rest = _content_cases(facts, doubtful, modes)
    merged, runs, content_merged = _merge(git, target, cases, must_merge + rest, cores)
    predictions.update(merged)
    if cache is not None:
        above = {c.name: kept[c.name].base_directories for c in on_chain if c.name in kept}
        above.update(
            (c.name, _existing_directories(c, diffs.get(c.tip, []), objects)) for c in fresh
        )
        entries = {
            c.name: merge_cache.Entry(
                c.tip,
                c.merge_base or "",
                bool(p.conflict),
                p.files,
                diffs[c.tip],
                above[c.name],
                merge_cache.tip_kinds(keys[c.name], tip),
            )
            for c in on_chain
            if (p := predictions[c.name]).conflict is not None and c.tip in diffs
        }
        merge_cache.save(cache, base.tip, entries)
    return PredictionRun(predictions, runs, reused, content_merged)


def merge_in_parallel(
    git: Git,
    target: str,
    names: Sequence[str],
    cores: int,
    scratch: Mapping[str, str] | None = None,
) -> dict[str, MergePrediction]:
    """merge_tree_batch split into one process per core (at least _PER_PROCESS merges each),
    writing into `scratch` (see scratch_objects), or a scratch directory of its own."""
    if not names:
        return {}
    if scratch is None:
        with scratch_objects(git) as own:
            return merge_in_parallel(git, target, names, cores, own)
    results: dict[str, MergePrediction] = {}
    for answers in in_pieces(
        names, cores, _PER_PROCESS, lambda piece: merge_tree_batch(git, target, piece, scratch)
    ):
        results.update(answers)
    return results
