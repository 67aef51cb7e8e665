"""Outputs the notebook filter stripped, kept in the git directory so that checkouts give them back.

git stores only what the clean filter returns, so every command that rewrites a notebook in the
work tree from a blob (`git stash` and `stash pop`, `checkout`, `rebase`, `merge`, `reset
--hard`) would write the stripped notebook over the one with outputs. The filter therefore
remembers, for each notebook it strips, the original it was given:

    <git dir>/torchlane/nb-outputs/<sha1 of the stripped bytes>   the original notebook
    <git dir>/torchlane/nb-outputs/path-<sha1 of the path>        the key of that path's latest

and on smudge answers with
- the original whose stripped form is exactly the blob (stash, checkout, rebase of an unchanged
  notebook), or else
- the blob with the outputs of the path's latest original put back into every cell that is
  unchanged (a merge or a rebase that combined cells from two sides),
and only when stripping that answer gives back the blob byte for byte; otherwise the blob
itself. So git never sees a difference (the work tree still cleans to the index), and a wrong
guess can only leave outputs out, never change a source.

Local to this clone (never shared, never pushed); the oldest entries are pruned beyond
MAX_ENTRIES (checked every PRUNE_EVERY writes). Imports only os at first (this starts inside git commands); hashlib and the strip modules
when a notebook comes.
"""

from __future__ import annotations

import os

from torchlane.leanfs import find_repo, write_atomic

TYPE_CHECKING = False  # see strip.py: typing stays out of the filter's start-up
if TYPE_CHECKING:
    from torchlane.notebooks.options import StripOptions

MAX_ENTRIES = 400
# Listing the store after every write cost a `git add` of many notebooks more than the writes:
# a process prunes on its first write and then every PRUNE_EVERY writes.
PRUNE_EVERY = 50
_WRITTEN = 0
FOLDER = os.path.join("torchlane", "nb-outputs")


def store_folder(start: str = ".") -> str | None:
    """The store of the repository git runs the filter in (its top level), None outside one."""
    _root, git_dir = find_repo(start)
    return os.path.join(git_dir, FOLDER) if git_dir else None


def _digest(data: bytes) -> str:
    import hashlib  # here: the filter imports this module before it has a notebook to strip

    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def remember(folder: str, pathname: str, original: bytes, stripped: bytes) -> None:
    """Keep `original` (what the user has on disk) under its stripped form and its path."""
    if original == stripped:
        return
    key = _digest(stripped)
    entry = os.path.join(folder, key)
    pointer = os.path.join(folder, "path-" + _digest(pathname.encode("utf-8")))
    try:
        if _read(entry) != original:  # the latest outputs for this content win
            write_atomic(entry, original)
            global _WRITTEN  # noqa: PLW0603  (one filter process, one counter)
            if _WRITTEN % PRUNE_EVERY == 0:
                _prune(folder)
            _WRITTEN += 1
        if _read(pointer) != key.encode("ascii"):
            write_atomic(pointer, key)
    except OSError:
        pass  # a read-only git directory: the filter still strips, outputs are just not kept


def restore(folder: str, pathname: str, blob: bytes, options: StripOptions) -> bytes:
    """The notebook to write for `blob` at `pathname`: with outputs where they are known."""
    from torchlane.notebooks.strip import NotebookError

    exact = _read(os.path.join(folder, _digest(blob)))
    if exact is not None and _strips_to(exact, blob, options):
        return exact
    pointer = _read(os.path.join(folder, "path-" + _digest(pathname.encode("utf-8"))))
    latest = _read(os.path.join(folder, pointer.decode("ascii", "replace"))) if pointer else None
    if latest is None:
        return blob
    try:
        merged = _merge_cells(latest, blob, options)
    except (NotebookError, ValueError, TypeError, KeyError, RecursionError):
        return blob
    return merged if merged is not None and _strips_to(merged, blob, options) else blob


def _merge_cells(original: bytes, blob: bytes, options: StripOptions) -> bytes | None:
    """`blob` with each cell replaced by the original's cell that strips to the same cell."""
    from torchlane.notebooks.serialize import serialize
    from torchlane.notebooks.strip import parse_notebook, strip_notebook

    before = parse_notebook(original.decode("utf-8"))
    stripped = strip_notebook(parse_notebook(original.decode("utf-8")), options)
    if len(stripped["cells"]) != len(before["cells"]):
        return None  # cells were dropped: the two lists no longer line up
    target = parse_notebook(blob.decode("utf-8"))
    unused = list(range(len(before["cells"])))
    changed = False
    for position, cell in enumerate(target["cells"]):
        for index in unused:
            if _same_cell(stripped["cells"][index], cell):
                target["cells"][position] = before["cells"][index]
                unused.remove(index)
                changed = True
                break
    if not changed:
        return None
    if stripped.get("metadata") == target.get("metadata"):
        target["metadata"] = before.get("metadata", {})
    return serialize(target).encode("utf-8")


def _same_cell(left: dict[str, object], right: dict[str, object]) -> bool:
    # Ids are renumbered by position when stripping; a moved cell is still the same cell.
    return {k: v for k, v in left.items() if k != "id"} == {
        k: v for k, v in right.items() if k != "id"
    }


def _strips_to(candidate: bytes, blob: bytes, options: StripOptions) -> bool:
    from torchlane.notebooks.strip import NotebookError, strip_bytes

    try:
        return strip_bytes(candidate, options) == blob
    except NotebookError:
        return False


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _prune(folder: str) -> None:
    names = [n for n in os.listdir(folder) if not n.startswith((".", "path-"))]
    if len(names) <= MAX_ENTRIES:
        return
    aged = sorted(names, key=lambda n: os.stat(os.path.join(folder, n)).st_mtime_ns)
    for name in aged[: len(names) - MAX_ENTRIES * 3 // 4]:
        try:  # noqa: SIM105  (contextlib would cost the filter's start-up an import)
            os.remove(os.path.join(folder, name))
        except OSError:
            pass
