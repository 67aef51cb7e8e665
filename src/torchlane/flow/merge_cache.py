"""Merge predictions kept between `torchlane status` runs, so a re-run re-merges only what changed.

A prediction answers "does merging branch B (tip b) into the target (tip d) conflict?". Three
trees decide it: the merge base M's, d's and b's, read under the same merge configuration. So
an answer recorded for (b, d) still holds for (b, d') when
  - b is unchanged and M, the unique merge base, is the same commit (a rewritten or updated
    branch has a new tip; a target that merged part of B has a new merge base);
  - no path d -> d' changed is related to a path B changed since M, in the prefilter's sense
    (flow/prefilter.py: the same path, or a file on one side where the other has a directory, or
    a directory one side emptied): every path git would merge has the same three versions;
  - rename detection cannot pair differently: git pairs a deleted path with an added one on the
    same side, so B is examined again after any target change when one of its paths is missing
    from d' (a deletion, possibly renamed on the target side), a path it added exists in d'
    (both added it), or one of its directories is missing from d';
  - nothing outside the trees changed: git's version, the merge.* and diff.* configuration, the
    attributes files git reads (every work tree .gitattributes, $GIT_DIR/info/attributes,
    core.attributesFile), replace refs, grafts and the shallow file. Any change there, and any
    .gitattributes between d and d', discards every answer.

Only branches whose merge base is proven unique (on the target's first-parent chain) are kept.
The file is `<git dir>/torchlane/merge-predictions.json`, written whole (leanfs.write_atomic).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from torchlane.flow.graph_cache import history_parts
from torchlane.flow.prefilter import Changes, TipTree, may_conflict
from torchlane.git import Git, git_version
from torchlane.leanfs import write_atomic

CACHE_NAME = "merge-predictions.json"
_FORMAT = 4  # 4: answers before it missed base-side mode-only changes
_CONFIG_SECTIONS = ("merge.", "diff.")
_CONFIG_KEYS = ("core.attributesfile",)


@dataclass(frozen=True)
class Entry:
    tip: str
    merge_base: str
    conflict: bool
    files: tuple[str, ...]
    changes: Changes  # (status, path) the branch changed since its merge base, no renames
    base_directories: frozenset[str]  # the directories above those paths at the merge base
    # At the target tip the entry was answered against, for each of those paths and the
    # directories above them: "d" a directory, "f" anything else, "" nothing. A later tip has the
    # same there unless the diff between the two tips changed the key (see tip_facts).
    tip_kinds: dict[str, str]


@dataclass
class MergeCache:
    path: Path
    environment: str
    target_tip: str | None = None  # the target tip the stored entries were answered against
    entries: dict[str, Entry] = field(default_factory=dict)


def _joined(parts: Iterable[bytes]) -> str:
    """The parts as one string, each prefixed by its length (no part can run into the next).
    Kept as is rather than hashed: it is short, and hashlib would cost every run its import."""
    return "".join(f"{len(part)}:{part.decode('latin-1')}" for part in parts)


def _read(path: str | Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return b"present\0" + handle.read()
    except OSError:
        return b"absent"


def _user_attributes(configured: str | None) -> str:
    if configured:
        return os.path.expanduser(configured)
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(xdg, "git", "attributes")


def environment_key(git: Git, target: str, history: list[bytes] | None = None) -> str:
    """Everything besides the three trees that could change a merge-tree answer (`history`:
    graph_cache.history_parts(git), when the caller has it)."""
    config: dict[str, str] = {}
    for item in git.run("config", "--list", "-z", check=False).stdout.split("\0"):
        key, _, value = item.partition("\n")
        if key.startswith(_CONFIG_SECTIONS) or key in _CONFIG_KEYS:
            config[key] = value  # the last one wins, as in git
    attributes = git.run(
        "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
        ":(glob)**/.gitattributes", check=False,
    ).stdout  # fmt: skip
    worktree_files = sorted({p for p in attributes.split("\0") if p} | {".gitattributes"})
    info_attributes = git.git_path("info/attributes")
    parts: list[bytes] = [
        str(_FORMAT).encode(),
        ".".join(map(str, git_version())).encode(),
        target.encode(),
        json.dumps(sorted(config.items())).encode(),
        *(history_parts(git) if history is None else history),
        _read(info_attributes),
        _read(_user_attributes(config.get("core.attributesfile"))),
    ]
    for name in worktree_files:
        parts += [name.encode(), _read(git.cwd / name)]
    return _joined(parts)


def load(path: Path, environment: str) -> MergeCache:
    """The stored predictions, or an empty cache when missing, damaged or made elsewhere."""
    empty = MergeCache(path, environment)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("format") != _FORMAT or stored.get("environment") != environment:
            return empty
        entries = {
            name: Entry(
                str(tip),
                str(merge_base),
                bool(conflict),
                tuple(map(str, files)),
                [(str(status), str(changed)) for status, changed in changes],
                frozenset(map(str, above)),
                {str(key): str(kind) for key, kind in kinds.items()},
            )
            for name, (tip, merge_base, conflict, files, changes, above, kinds) in stored[
                "entries"
            ].items()
        }
        return MergeCache(path, environment, str(stored["target_tip"]), entries)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return empty


def save(cache: MergeCache, target_tip: str, entries: dict[str, Entry]) -> None:
    data = {
        "format": _FORMAT,
        "environment": cache.environment,
        "target_tip": target_tip,
        "entries": {
            name: [
                e.tip,
                e.merge_base,
                e.conflict,
                list(e.files),
                [list(c) for c in e.changes],
                sorted(e.base_directories),
                e.tip_kinds,
            ]
            for name, e in sorted(entries.items())
        },
    }
    try:
        write_atomic(cache.path, json.dumps(data, separators=(",", ":")))
    except OSError as exc:  # a read-only .git still gets correct (if slower) answers
        print(
            f"torchlane: could not keep merge predictions in {cache.path}: {exc}", file=sys.stderr
        )


def target_changes(git: Git, old: str, new: str) -> Changes | None:
    """What changed between two target tips' trees; None when the old tip is gone."""
    if old == new:
        return []
    result = git.run(
        "diff-tree", "-r", "--name-status", "--no-renames", "-z", old, new, check=False
    )
    if not result.ok:
        return None
    tokens = result.stdout.split("\0")
    return [(tokens[i], tokens[i + 1]) for i in range(0, len(tokens) - 1, 2) if tokens[i]]


def rename_sensitive(entry: Entry, tip: TipTree) -> bool:
    """Could a change anywhere on the target alter how git pairs renames involving B's paths?
    Yes when a path B changed is gone from the target (deleted, perhaps renamed), one B added is
    there too, or a directory of B's that existed at the merge base is gone (renamed, perhaps)."""
    for status, path in entry.changes:
        if "\n" in path:  # git's batch lookups cannot carry it: nothing is known about it
            return True
        if (status == "A") == (path in tip.others):
            return True
    return any(d not in tip.directories for d in entry.base_directories)


def still_valid(
    entry: Entry, target_diff: Changes, changed: set[str], target_tree: TipTree
) -> bool:
    """Whether `entry`, answered against the old target tip, holds for the new one (same branch
    tip and merge base already checked): see the module docstring."""
    if not target_diff:
        return True
    if rename_sensitive(entry, target_tree):
        return False
    return not may_conflict(entry.changes, target_tree, changed)


def tip_kinds(keys: set[str], tip: TipTree) -> dict[str, str]:
    return {k: "d" if k in tip.directories else "f" if k in tip.others else "" for k in keys}


def known_at_new_tip(entry: Entry, changed: set[str]) -> dict[str, str]:
    """The entry's facts about the old target tip that hold at the new one: those of keys the
    diff between the tips did not change (a key's object, hence its kind, is then the same)."""
    return {k: kind for k, kind in entry.tip_kinds.items() if k not in changed}


def affects_everything(changes: Changes) -> bool:
    """A .gitattributes between the two target tips can change any merge."""
    return any(path.rsplit("/", 1)[-1] == ".gitattributes" for _, path in changes)
