"""Would merging each branch into the base conflict now? `git merge-tree --write-tree` (git >=
2.38, no work-tree changes), run only where a conflict is possible (see flow/prefilter.py).
Branches whose merge base is not on the base's first-parent chain always get it.

One git process per merge spends most of its time starting up and loading the same trees again,
so the merges go through `git merge-tree --stdin` (one process merging many pairs), split into
one process per core. A merge git refuses (unrelated histories, a vanished ref) stops that
process; the merges after it go on in a new one, and the refused one is asked alone, for its
error. A git whose merge-tree lacks --stdin gets one process per merge.

merge-tree writes every tree (and every conflicted file) it builds into the object store: ~5,000
loose objects, ~29 MB, for 900 merges, new ones whenever the base moves, which nothing ever
uses. The merges therefore write into a scratch object directory (on /dev/shm where there is
one) that reads the repository's objects as an alternate and is removed afterwards; loose
objects there are stored uncompressed. On a repository that does not hold them yet this about
halves merge-tree's CPU (1.6 s -> 0.9 s for 1,000 merges), and the repository gains nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from torchlane.flow import merge_cache
from torchlane.flow.graph import BaseLine
from torchlane.flow.prefilter import (
    Changes,
    Objects,
    TipTree,
    changed_keys,
    changed_since,
    diff_batch,
    directories,
    lookup_keys,
    lookup_objects,
    may_conflict,
    tree_of,
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


_SCRATCH_PARENT = Path("/dev/shm")  # a private mkdtemp directory is made inside
_UNCOMPRESSED = ("-c", "core.looseCompression=0")


@contextmanager
def scratch_objects(git: Git) -> Iterator[dict[str, str]]:
    """The environment that sends the objects git writes to a temporary object directory,
    reading the repository's own (and its alternates) as an alternate; removed on exit."""
    objects = (git.cwd / git.out("rev-parse", "--git-path", "objects")).resolve()
    parent = _SCRATCH_PARENT if os.access(_SCRATCH_PARENT, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="torchlane-merge-", dir=parent) as scratch:
        yield {
            "GIT_OBJECT_DIRECTORY": scratch,
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects),
        }


def merge_tree(
    git: Git, target: str, tip: str, env: Mapping[str, str] | None = None
) -> MergePrediction:
    result = git.run(
        *_UNCOMPRESSED, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z",
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
            *_UNCOMPRESSED, "merge-tree", "--stdin", "--name-only", "--no-messages", "-z",
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


def _possible_conflicts(
    base_tip: str,
    fresh: Sequence[Candidate],
    diffs: dict[str, Changes],
    tip: TipTree,
    objects: Objects,
) -> list[Candidate]:
    """The candidates that may conflict (see flow/prefilter.py), given `objects` at every key
    of their changes, at their merge bases and at the base's tip."""
    queries = [(c.merge_base or "", lookup_keys(diffs.get(c.tip, ()), tip)) for c in fresh]
    changed = changed_since(base_tip, queries, objects)
    return [
        c
        for c, since in zip(fresh, changed, strict=True)
        if may_conflict(diffs.get(c.tip, ()), tip, since)
    ]


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
    git: Git, cache_dir: Path | None, target: str, base: BaseLine
) -> tuple[merge_cache.MergeCache | None, dict[str, merge_cache.Entry], Changes]:
    """The cache, the entries of the last run that may be reused, and what changed between
    the target tip they answered against and this one."""
    if cache_dir is None:
        return None, {}, []
    cache = merge_cache.load(
        cache_dir / merge_cache.CACHE_NAME, merge_cache.environment_key(git, target)
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
) -> PredictionRun:
    """Predict, for every candidate, whether merging it into `target` (at `base.tip`) conflicts.

    With `cache_dir`, answers from the last run that provably still hold are reused and this
    run's answers are kept for the next (flow/merge_cache.py)."""
    cores = workers or os.cpu_count() or 1
    predictions = {c.name: MergePrediction(False) for c in candidates}
    unmerged = [c for c in candidates if not c.merged]
    on_chain = [c for c in unmerged if c.merge_base_position is not None]
    must_merge = [c.name for c in unmerged if c.merge_base_position is None]
    cache, previous, target_diff = _last_run(git, cache_dir if on_chain else None, target, base)
    kept = {
        c.name: entry
        for c in on_chain
        if (entry := previous.get(c.name)) is not None
        and (entry.tip, entry.merge_base) == (c.tip, c.merge_base)
    }
    fresh = [c for c in on_chain if c.name not in kept]
    diffs = {c.tip: kept[c.name].changes for c in on_chain if c.name in kept}
    diffs.update(diff_batch(git, sorted({(c.tip, c.merge_base or "") for c in fresh})))
    keys = {c.name: changed_keys(diffs.get(c.tip, ())) for c in on_chain}
    new_keys = changed_keys(target_diff)
    # What the tip has at each key: kept entries know most of it from the last run.
    known: dict[str, str] = {}
    for c in on_chain:
        if c.name in kept:
            known.update(merge_cache.known_at_new_tip(kept[c.name], new_keys))
    at_tip = {k for c in on_chain if c.name in kept for k in keys[c.name] if k not in known}
    at_tip.update(k for c in fresh for k in keys[c.name])  # their oids are compared, too
    objects = lookup_objects(
        git,
        [f"{base.tip}:{k}" for k in sorted(at_tip)]
        + [f"{c.merge_base}:{k}" for c in fresh for k in keys[c.name]],
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
    examine = fresh + recheck
    must_merge += [c.name for c in _possible_conflicts(base.tip, examine, diffs, tip, objects)]
    predictions.update(merge_in_parallel(git, target, must_merge, cores))
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
    return PredictionRun(predictions, len(must_merge), reused)


def merge_in_parallel(
    git: Git, target: str, names: Sequence[str], cores: int
) -> dict[str, MergePrediction]:
    """merge_tree_batch split into one process per core (at least _PER_PROCESS merges each)."""
    if not names:
        return {}
    pieces = max(1, min(cores, len(names) // _PER_PROCESS))
    chunks = [names[i::pieces] for i in range(pieces)]
    results: dict[str, MergePrediction] = {}
    # Threads suffice: each waits on a git process; the GIL is free meanwhile.
    with scratch_objects(git) as env, ThreadPoolExecutor(max_workers=pieces) as pool:
        for answers in pool.map(lambda chunk: merge_tree_batch(git, target, chunk, env), chunks):
            results.update(answers)
    return results
