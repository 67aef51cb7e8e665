"""Which branches can possibly conflict with the base: the rest are provably clean.

A merge can only conflict where both sides changed something related since the merge base M:
  - the same path (content, add/add, modify/delete, and every rename case, because renames are
    counted as a deletion plus an addition here: `--no-renames`);
  - a path on one side that is a directory on the other (file/directory conflicts);
  - a directory one side removed while the other has changes inside it (git's directory-rename
    detection moves those changes and, by default, reports that as a conflict).
A directory can only be removed on the base side if it is not a directory at the base's tip, and
a file/directory clash needs a non-directory at the base's tip where the branch has a
directory; the tip's objects at the branch's paths and the directories above them answer both.

git merges three trees: M's, the base tip's and the branch tip's. So "the base side changed
path p since M" is exactly "the object at p (a blob, a tree, or nothing) differs between M and
the base tip": a tree's id changes whenever anything below it does. For every branch we ask
git for those objects at the few paths the branch's own changes make relevant (`lookup_keys`),
all branches in one `git cat-file --batch-check` process, at a cost that grows with the number
of branches and not with the length of the base's history.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field

from torchlane.git import Git

_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")

Changes = list[tuple[str, str]]  # (status letter, path)


def directories(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


Blob = tuple[str, str]  # (mode, object id) of one path in one tree
# (new commit, path) -> the path's (mode, object id) in the old and the new commit, for every
# changed path and every directory above one
Sides = dict[tuple[str, str], tuple[Blob, Blob]]
_TREE_MODE = "040000"
_KIND_OF_MODE = {_TREE_MODE: "tree", "160000": "commit", "000000": ""}  # else "blob"


def diff_batch(
    git: Git, pairs: Sequence[tuple[str, str]], sides: Sides | None = None
) -> dict[str, Changes]:
    """Name-status diffs `old..new` (files only) for many (new, old) commit pairs in one
    diff-tree process. With `sides`, the mode and object id on both sides of each changed path
    and of each directory above one (`-t`) are added to it."""
    if not pairs:
        return {}
    out = git.run(
        "diff-tree", "--stdin", "-r", "-t", "--raw", "--no-renames", "-z",
        input="".join(f"{new} {old}\n" for new, old in pairs),
    ).stdout  # fmt: skip
    diffs: dict[str, Changes] = {new: [] for new, _ in pairs}
    tokens = out.split("\0")
    current: Changes | None = None
    commit = ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        # A header is the commit id; a change is ":<mode> <mode> <id> <id> <status>", then
        # its path: a path never sits where either is expected.
        if _OBJECT_ID.fullmatch(token):
            commit, current = token, diffs.setdefault(token, [])
            i += 1
        elif token.startswith(":") and current is not None and i + 1 < len(tokens):
            old_mode, new_mode, old_id, new_id, status = token[1:].split(" ")
            path = tokens[i + 1]
            if _TREE_MODE not in (old_mode, new_mode):
                current.append((status, path))
            if sides is not None:
                _record_sides(sides, (commit, path), (old_mode, old_id), (new_mode, new_id))
            i += 2
        else:
            i += 1
    return diffs


def _record_sides(sides: Sides, key: tuple[str, str], old: Blob, new: Blob) -> None:
    """A path that changed between a file and a directory has two records (a deletion and an
    addition): each side comes from the record where that side exists."""
    earlier = sides.get(key)
    if earlier is not None:
        old = earlier[0] if earlier[0][0] != "000000" else old
        new = earlier[1] if earlier[1][0] != "000000" else new
    sides[key] = (old, new)


def old_side_objects(sides: Sides, tip: str, old: str, keys: Iterable[str]) -> Objects:
    """`lookup_objects` of `<old>:<key>` for the keys `sides` knows (diff_batch of (tip, old)):
    the object at each changed path and directory in the old commit, without asking git."""
    objects: Objects = {}
    for key in keys:
        ends = sides.get((tip, key))
        if ends is not None:
            mode, oid = ends[0]
            kind = _KIND_OF_MODE.get(mode, "blob")
            objects[f"{old}:{key}"] = (oid, kind) if kind else ("", "")
    return objects


@dataclass
class TipTree:
    """What the base's tip has at the paths we ask about (not the whole tree: see tree_of)."""

    directories: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)  # files, symlinks, submodules


def tree_of(commit: str, objects: Objects) -> TipTree:
    """The part of `commit`'s tree that `objects` answered: every question about the tip's
    tree asks about a path some branch changed or a directory above one, all of them looked up
    with lookup_objects, so this is exact where it is consulted and costs nothing elsewhere."""
    tree = TipTree()
    prefix = f"{commit}:"
    for name, (_, kind) in objects.items():
        if name.startswith(prefix) and kind:
            (tree.directories if kind == "tree" else tree.others).add(name[len(prefix) :])
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


def changed_keys(changes: Iterable[tuple[str, str]]) -> set[str]:
    """Every path a tree diff changed and every directory above one: the keys whose object
    differs between the diff's two trees."""
    keys: set[str] = set()
    for _, path in changes:
        keys.add(path)
        keys.update(directories(path))
    return keys


Objects = dict[str, tuple[str, str]]  # "<commit>:<path>" -> (object id, type); ("", ""): none
_KINDS = frozenset({"blob", "tree", "commit", "tag"})


def lookup_objects(git: Git, names: Iterable[str]) -> Objects:
    """The object at each `<commit>:<path>`, from one `git cat-file --batch-check` process.
    Names git's batch protocol cannot carry (a newline in them) are left out: callers treat a
    missing answer as unknown."""
    order = list(dict.fromkeys(n for n in names if "\n" not in n))
    if not order:
        return {}
    out = git.run(
        "cat-file", "--batch-check=%(objectname) %(objecttype)", "-z",
        input="".join(f"{n}\0" for n in order),
    ).stdout.split("\n")  # fmt: skip
    objects: Objects = {}
    for name, line in zip(order, out, strict=False):
        oid, _, kind = line.partition(" ")
        found = _OBJECT_ID.fullmatch(oid) and kind in _KINDS
        objects[name] = (oid, kind) if found else ("", "")  # else "<name> missing"
    return objects


def modes_at(git: Git, commit: str, paths: Iterable[str]) -> dict[str, str]:
    """The mode of each of `paths` present in `commit`, read from the trees that hold them in
    one `git cat-file --batch` process (`--batch-check` gives a type, "blob", but not whether the
    blob is a file, an executable or a symlink)."""
    wanted = {p for p in paths if "\ufffd" not in p and "\n" not in p}
    folders = sorted({p.rpartition("/")[0] for p in wanted})
    if not folders:
        return {}
    out = git.run_bytes(
        "cat-file", "--batch=%(objectname) %(objecttype) %(objectsize)",
        input="".join(f"{commit}:{folder}\n" for folder in folders).encode(),
    )  # fmt: skip
    modes: dict[str, str] = {}
    position = 0
    for folder in folders:
        end = out.index(b"\n", position)
        header = out[position:end].decode("ascii", "replace").rsplit(" ", 2)
        position = end + 1
        if len(header) != 3 or not _OBJECT_ID.fullmatch(header[0]):
            continue  # "<name> missing": no such directory at `commit`
        body = out[position : position + int(header[2])]
        position += len(body) + 1
        if header[1] == "tree":
            prefix = f"{folder}/" if folder else ""
            _tree_modes(body, prefix, len(header[0]) // 2, wanted, modes)
    return modes


def _tree_modes(
    body: bytes, prefix: str, id_size: int, wanted: set[str], modes: dict[str, str]
) -> None:
    """Add the modes of the wanted entries of one tree object's body (`<mode> <name>\\0<id>`)."""
    i = 0
    while i < len(body):
        space = body.index(b" ", i)
        end = body.index(b"\0", space)
        path = prefix + body[space + 1 : end].decode("utf-8", "replace")
        if path in wanted:
            modes[path] = body[i:space].decode("ascii")
        i = end + 1 + id_size


def changed_since(
    tip: str, queries: Sequence[tuple[str, Iterable[str]]], objects: Objects
) -> list[set[str]]:
    """For each (merge base, keys): the keys whose object at the merge base differs from the one
    at `tip` (unknown counts as changed), given `lookup_objects` of both."""
    results: list[set[str]] = []
    for base, keys in queries:
        changed = set()
        for key in keys:
            at_base, at_tip = objects.get(f"{base}:{key}"), objects.get(f"{tip}:{key}")
            if at_base is None or at_tip is None or at_base[0] != at_tip[0]:
                changed.add(key)
        results.append(changed)
    return results


def may_conflict(changes: Iterable[tuple[str, str]], tip: TipTree, changed: Container[str]) -> bool:
    """False only if merging is certainly clean (see the module docstring for why). `changed`:
    the keys (paths and directories) whose object the base side changed since the merge base."""
    for status, path in changes:
        if path in changed:
            return True
        for directory in directories(path):
            if directory in tip.others:
                return True
            if (directory not in tip.directories or status == "D") and directory in changed:
                return True
    return False
