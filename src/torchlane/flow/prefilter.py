"""Which branches can possibly conflict with the base: the rest are provably clean.

A merge can only conflict where both sides changed something related since the merge base M:
  - the same path (content, add/add, modify/delete, and every rename case, because renames are
    counted as a deletion plus an addition here: `--no-renames`);
  - a path on one side that is a directory on the other (file/directory conflicts);
  - a directory one side removed while the other has changes inside it (git's directory-rename
    detection moves those changes and, by default, reports that as a conflict).
A directory can only be removed on the base side if it is not a directory at the base's tip, and
a file/directory clash needs a non-directory at the base's tip where the branch has a
directory; one listing of the tip's tree answers both.

For a branch whose merge base sits at position k of the base's first-parent chain, the base
side's changes since M are contained in the union of the chain's per-commit diffs after k. We
index those once for all branches (latest position that touched each path, touched anything
below each directory, deleted anything below it), reading only the parts of the tree that some
branch touched: a pathspec of at most _MAX_PATHSPECS ancestors of the paths we will look up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from torchlane.flow.graph import BaseLine
from torchlane.git import Git

_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_MAX_PATHSPECS = 64

Changes = list[tuple[str, str]]  # (status letter, path)


def directories(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def diff_batch(git: Git, pairs: Sequence[tuple[str, str]]) -> dict[str, Changes]:
    """Name-status diffs `old..new` for many (new, old) commit pairs in one diff-tree process."""
    if not pairs:
        return {}
    out = git.run(
        "diff-tree", "--stdin", "-r", "--name-status", "--no-renames", "-z",
        input="".join(f"{new} {old}\n" for new, old in pairs),
    ).stdout  # fmt: skip
    diffs: dict[str, Changes] = {new: [] for new, _ in pairs}
    tokens = out.split("\0")
    current: Changes | None = None
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


@dataclass
class TipTree:
    directories: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)  # files, symlinks, submodules


def tip_tree(git: Git, commit: str) -> TipTree:
    tree = TipTree()
    for entry in git.run("ls-tree", "-r", "-t", "-z", commit).stdout.split("\0"):
        if "\t" in entry:
            meta, path = entry.split("\t", 1)
            (tree.directories if meta.split()[1] == "tree" else tree.others).add(path)
    return tree


def lookup_keys(changes: Iterable[tuple[str, str]], tip: TipTree) -> set[str]:
    """The paths whose base-side history `may_conflict` will consult."""
    keys: set[str] = set()
    for status, path in changes:
        keys.add(path)
        for directory in directories(path):
            if directory not in tip.directories or status == "D":
                keys.add(directory)
    return keys


def pathspecs(keys: set[str]) -> list[str]:
    """At most _MAX_PATHSPECS paths, each key equal to or below one of them; [] means all."""
    specs = set(keys)
    while len(specs) > _MAX_PATHSPECS:
        deepest = max(spec.count("/") for spec in specs)
        if deepest == 0:
            return []
        specs = {spec.rsplit("/", 1)[0] if spec.count("/") == deepest else spec for spec in specs}
    # Drop specs already covered by an ancestor spec.
    return sorted(s for s in specs if not any(s.startswith(k + "/") for k in specs))


@dataclass
class ChainIndex:
    touched: dict[str, int] = field(default_factory=dict)
    touched_below: dict[str, int] = field(default_factory=dict)
    deleted_below: dict[str, int] = field(default_factory=dict)


def _chain_log(git: Git, base: BaseLine, low: int, high: int, specs: list[str]) -> str:
    """Per-commit name-status of chain positions (low, high], newest first."""
    return git.run(
        "log", "--first-parent", "--diff-merges=first-parent", "--name-status", "--no-renames",
        "-z", "--format=%x01%H", base.chain[high], f"^{base.chain[low]}", "--",
        *(f":(literal){spec}" for spec in specs),
    ).stdout  # fmt: skip


def index_chain(git: Git, base: BaseLine, after: int, specs: list[str], workers: int) -> ChainIndex:
    """The chain's changes after position `after`, restricted to `specs`. Tree diffs dominate
    the cost, so long chains are cut into segments that git diffs in parallel."""
    last = len(base.chain) - 1
    pieces = max(1, min(workers, (last - after) // 1000))
    cuts = [after + (last - after) * i // pieces for i in range(pieces + 1)]
    with ThreadPoolExecutor(max_workers=pieces) as pool:
        logs = list(
            pool.map(lambda i: _chain_log(git, base, cuts[i], cuts[i + 1], specs), range(pieces))
        )
    index = ChainIndex()
    # Newest first: the first time we see a key holds its latest position.
    for log in reversed(logs):
        for record in log.split("\x01")[1:]:
            tokens = record.split("\0")
            position = base.position[tokens[0].strip()]
            changes = tokens[1:]
            for i in range(0, len(changes) - 1, 2):
                status, path = changes[i].strip("\n"), changes[i + 1]
                if not status:
                    break
                index.touched.setdefault(path, position)
                for directory in directories(path):
                    index.touched_below.setdefault(directory, position)
                    if status == "D":
                        index.deleted_below.setdefault(directory, position)
    return index


def may_conflict(
    changes: Iterable[tuple[str, str]], index: ChainIndex, tip: TipTree, since: int
) -> bool:
    """False only if merging is certainly clean (see the module docstring for why)."""

    def after(table: dict[str, int], key: str) -> bool:
        return table.get(key, -1) > since

    for status, path in changes:
        if after(index.touched, path) or after(index.touched_below, path):
            return True
        for directory in directories(path):
            if directory in tip.others:
                return True
            if directory not in tip.directories and after(index.deleted_below, directory):
                return True
            if status == "D" and after(index.touched_below, directory):
                return True
    return False
