"""Branches that can only conflict inside files both sides edited: one merge answers all of them.

When the prefilter's only reason to doubt a branch (flow/prefilter.py) is a path both sides
modified, and that path is a regular file in the merge base, the target and the branch, the
branch's merge is clean everywhere else and conflicts exactly where git's three-way content
merge of those versions conflicts: nothing is added or deleted at such a path, so rename and
directory-rename detection cannot involve it, and a file's mode (644 or 755) cannot conflict.

A content merge depends on the three blobs, the merge configuration and the attributes that
choose a merge driver for the path (`merge`, `conflict-marker-size`; with merge.renormalize, all
the conversion attributes). Where no attribute applies and merge.renormalize is off, the path's
name does not matter, so every such version triple of every branch becomes one entry of three
synthetic flat trees (merge base, target, branch), committed as two children of a common root,
and a single `git merge-tree` of those two commits does every content merge at once: its
conflicted entries are the triples that conflict. A path with attributes (or merge.renormalize
on) leaves its branch to the real merge.

Why by hand: git has no batch three-way merge of blobs (merge-file takes one triple per process,
by object id only from git 2.43), and reimplementing its merge would be a second, drifting copy
of xdiff. The synthetic objects are written as loose objects into the scratch object directory
the merges already use (flow/scratch.py): the repository gains nothing.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from torchlane.flow.parallel import in_pieces
from torchlane.flow.prefilter import Blob, Changes, Objects, Sides, TipTree, directories
from torchlane.flow.scratch import UNCOMPRESSED
from torchlane.git import Git

Triple = tuple[Blob, Blob, Blob]  # the path's version at the merge base, target tip, branch tip
_REGULAR = frozenset({"100644", "100755"})
_ATTRIBUTES = ("merge", "conflict-marker-size")
_IDENTITY = b"torchlane <torchlane@localhost> 0 +0000"
_PER_PROCESS = 500  # fewer content merges than this are not worth another process


def edited_on_both_sides(
    changes: Changes, tip: TipTree, changed: set[str] | frozenset[str]
) -> list[str] | None:
    """The paths both sides modified, when they are the only reason `may_conflict` has for
    doubting the branch; None when any other reason applies (a path added, deleted or retyped
    on both sides, a file where the other side has a directory, a directory one side removed)."""
    both: list[str] = []
    for status, path in changes:
        for directory in directories(path):
            if directory in tip.others:
                return None
            if (directory not in tip.directories or status == "D") and directory in changed:
                return None
        if path in changed:
            if status != "M":
                return None
            both.append(path)
    return both


@dataclass(frozen=True, kw_only=True)
class ContentCase:
    name: str  # the candidate
    triples: dict[str, Triple]  # by path: the versions of each path both sides edited


def content_case(
    name: str,
    tip: str,
    paths: Iterable[str],
    *,
    sides: Sides,
    target_tip: str,
    objects: Objects,
    modes: Mapping[str, str],
) -> ContentCase | None:
    """The case for one branch, or None when a path is not a regular file on every side (a
    symlink, a submodule, a directory, or a version git could not tell us). `modes`: the target
    tip's, by path (prefilter.modes_at)."""
    triples: dict[str, Triple] = {}
    for path in paths:
        ends = sides.get((tip, path))
        oid, kind = objects.get(f"{target_tip}:{path}", ("", ""))
        mode = modes.get(path, "")
        # A name that is not UTF-8 reaches us with U+FFFD in it: its attributes cannot be asked.
        if ends is None or kind != "blob" or mode not in _REGULAR or "\ufffd" in path:
            return None
        (base_mode, base_id), (branch_mode, branch_id) = ends
        if base_mode not in _REGULAR or branch_mode not in _REGULAR:
            return None
        triples[path] = ((base_mode, base_id), (mode, oid), (branch_mode, branch_id))
    return ContentCase(name=name, triples=triples)


def _attributed(git: Git, paths: Iterable[str]) -> set[str]:
    """The paths for which a merge-related attribute is set, unset or given a value."""
    order = list(dict.fromkeys(paths))
    asked = git.run(
        "check-attr", "-z", "--stdin", *_ATTRIBUTES, input="".join(f"{p}\0" for p in order),
        check=False,
    )  # fmt: skip
    if not asked.ok:
        return set(order)  # unknown: every path keeps its real merge
    out = asked.stdout.split("\0")
    return {out[i] for i in range(0, len(out) - 2, 3) if out[i + 2] != "unspecified"}


def _renormalizes(git: Git) -> bool:
    found = git.run("config", "--type=bool", "--get", "merge.renormalize", check=False)
    return found.stdout.strip() == "true"


def _is_trivial(triple: Triple) -> bool:
    """A content merge with nothing to merge: one side kept the base's bytes, or both sides
    wrote the same bytes (modes merge cleanly: there are only two)."""
    (_, base), (_, target), (_, branch) = triple
    return base in (target, branch) or target == branch


def _synthetic_name(index: int) -> str:
    return f"t{index:07d}"


class _ObjectWriter:
    """Loose objects written straight into an object directory (the scratch one)."""

    def __init__(self, directory: Path, algorithm: str):
        self.directory = directory
        self.algorithm = algorithm

    def write(self, kind: bytes, body: bytes) -> str:
        data = kind + b" " + str(len(body)).encode() + b"\0" + body
        oid = hashlib.new(self.algorithm, data).hexdigest()
        folder = self.directory / oid[:2]
        folder.mkdir(exist_ok=True)
        target = folder / oid[2:]
        if not target.exists():
            target.write_bytes(zlib.compress(data, 1))
        return oid

    def tree(self, entries: list[tuple[str, Blob]]) -> str:
        body = b"".join(
            mode.encode() + b" " + name.encode() + b"\0" + bytes.fromhex(oid)
            for name, (mode, oid) in sorted(entries)
        )
        return self.write(b"tree", body)

    def commit(self, tree: str, parent: str | None) -> str:
        lines = [b"tree " + tree.encode()]
        if parent:
            lines.append(b"parent " + parent.encode())
        lines += [b"author " + _IDENTITY, b"committer " + _IDENTITY, b"", b"torchlane", b""]
        return self.write(b"commit", b"\n".join(lines))


def _merge_triples(
    git: Git, triples: Sequence[Triple], env: Mapping[str, str]
) -> set[Triple] | None:
    """The triples whose three-way content merge conflicts, from one merge-tree; None when git
    refused the synthetic merge."""
    algorithm = "sha256" if len(triples[0][0][1]) == 64 else "sha1"
    writer = _ObjectWriter(Path(env["GIT_OBJECT_DIRECTORY"]), algorithm)
    names = [_synthetic_name(i) for i in range(len(triples))]
    trees = [writer.tree([(n, t[side]) for n, t in zip(names, triples, strict=True)])
             for side in range(3)]  # fmt: skip
    root = writer.commit(trees[0], None)
    target, branch = writer.commit(trees[1], root), writer.commit(trees[2], root)
    merged = git.run(
        *UNCOMPRESSED, "merge-tree", "--write-tree", "--name-only",
        "--no-messages", "-z", target, branch,
        check=False, env=env,
    )  # fmt: skip
    if merged.returncode not in (0, 1) or not merged.stdout:
        return None
    conflicted = set(merged.stdout.split("\0")[1:]) if merged.returncode == 1 else set()
    return {t for n, t in zip(names, triples, strict=True) if n in conflicted}


def _merge_in_pieces(
    git: Git, triples: list[Triple], env: Mapping[str, str], cores: int
) -> set[Triple] | None:
    """_merge_triples split into one synthetic merge per core (each content merge costs git
    ~50 microseconds, so a few thousand are worth the second process)."""
    found = in_pieces(triples, cores, _PER_PROCESS, lambda piece: _merge_triples(git, piece, env))
    if any(part is None for part in found):
        return None
    return {t for part in found if part is not None for t in part}


def merge_contents(
    git: Git, cases: list[ContentCase], env: Mapping[str, str], cores: int = 1
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """For each case its conflicted paths (empty: clean), and the cases that need the real
    merge after all (attributes, merge.renormalize, or git refusing the synthetic merge)."""
    if not cases:
        return {}, []
    if _renormalizes(git):
        return {}, [c.name for c in cases]
    # By path: the versions of one file are mostly deltas of each other in a pack, and git
    # resolves them fastest one file after another (its delta base cache).
    pending = sorted((p, t) for c in cases for p, t in c.triples.items() if not _is_trivial(t))
    order = list(dict.fromkeys(t for _, t in pending))
    paths = {p for c in cases for p in c.triples}
    attributed = _attributed(git, [*paths, *map(_synthetic_name, range(len(order)))])
    if any(name not in paths for name in attributed):
        return {}, [c.name for c in cases]  # an attribute would apply to the synthetic names
    conflicting = _merge_in_pieces(git, order, env, cores) if order else set()
    if conflicting is None:
        return {}, [c.name for c in cases]
    answers: dict[str, tuple[str, ...]] = {}
    fallback: list[str] = []
    for case in cases:
        if attributed.intersection(case.triples):
            fallback.append(case.name)
        else:
            answers[case.name] = tuple(
                sorted(p for p, t in case.triples.items() if t in conflicting)
            )
    return answers, fallback
