"""Outputs the notebook filter stripped, kept in the git directory so that checkouts give them back.

git stores only what the clean filter returns, so every command that rewrites a notebook in the
work tree from a blob (`git stash` and `stash pop`, `checkout`, `rebase`, `merge`, `reset
--hard`) would write the stripped notebook over the one with outputs. The filter therefore
remembers, for each notebook it strips, the original it was given, in

    <git dir>/torchlane/nb-outputs/pack-<time ns>-<pid>

one append-only file per filter process (one `git add` of 200 notebooks writes one file, not
two files and two renames per notebook): a sequence of records, each a header line

    TLNB1 <sha1 of the stripped bytes> <sha1 of the path> - <length>\n

then the original's bytes (records written before this version hold the original's sha1 where
the `-` is; nothing reads it: hashing every original cost more than comparing the rare repeat
byte for byte). A reader takes the packs in name order (oldest first) and the records
in file order, so the latest record for a stripped form or for a path wins; a record cut short
(a writer still running, or killed) ends that pack's list. Stores written before packs (one
file per stripped form, `<sha1>`, and one pointer per path, `path-<sha1 of the path>`) are
still read when no pack knows the answer.

On smudge the filter answers with
- the original whose stripped form is exactly the blob (stash, checkout, rebase of an unchanged
  notebook), or else
- the blob with the outputs of the path's latest original put back into every cell that is
  unchanged (a merge or a rebase that combined cells from two sides),
and only when stripping that answer gives back the blob byte for byte; otherwise the blob
itself. So git never sees a difference (the work tree still cleans to the index), and a wrong
guess can only leave outputs out, never change a source.

Local to this clone (never shared, never pushed). A pack holds at most MAX_ENTRIES records (a
process with more starts another); when a pack is started, the oldest packs are removed while
the others hold more than MAX_ENTRIES records. Imports only os at first (this
starts inside git commands); hashlib and the strip modules when a notebook comes.
"""

from __future__ import annotations

import os

from torchlane.leanfs import find_repo

TYPE_CHECKING = False  # see strip.py: typing stays out of the filter's start-up
if TYPE_CHECKING:
    from torchlane.notebooks.options import StripOptions

MAX_ENTRIES = 400
FOLDER = os.path.join("torchlane", "nb-outputs")
PACK_PREFIX = "pack-"
MAGIC = b"TLNB1"
_HEADER_MAX = 200  # the magic, three sha1s and a length, with room to spare


def store_folder(start: str = ".") -> str | None:
    """The store of the repository git runs the filter in (its top level), None outside one."""
    _root, git_dir = find_repo(start)
    return os.path.join(git_dir, FOLDER) if git_dir else None


def _digest(data: bytes) -> str:
    import hashlib  # here: the filter imports this module before it has a notebook to strip

    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


class _Record:
    __slots__ = ("length", "offset", "pack")

    def __init__(self, pack: str, offset: int, length: int) -> None:
        self.pack, self.offset, self.length = pack, offset, length


def _scan(path: str, start: int = 0) -> tuple[list[tuple[str, str, _Record]], int]:
    """(stripped key, path key, record) of each whole record from `start`, and where they end."""
    found: list[tuple[str, str, _Record]] = []
    try:
        handle = open(path, "rb")  # noqa: SIM115  (closed below; contextlib costs an import)
    except OSError:
        return found, start
    try:
        size = os.fstat(handle.fileno()).st_size
        position = start
        handle.seek(position)
        while position < size:
            header = handle.readline(_HEADER_MAX)
            fields = header.split()
            if not header.endswith(b"\n") or len(fields) != 5 or fields[0] != MAGIC:
                break
            try:
                length = int(fields[4])
            except ValueError:
                break
            data_at = position + len(header)
            if data_at + length > size:
                break  # cut short: a writer is still at it, or was killed
            key, path_key = (f.decode("ascii", "replace") for f in fields[1:3])
            found.append((key, path_key, _Record(path, data_at, length)))
            position = data_at + length
            handle.seek(position)
    finally:
        handle.close()
    return found, position


class _Index:
    """Every pack's records of one store folder, read incrementally (packs only grow)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.entries: dict[str, _Record] = {}  # stripped key -> latest record
        self.paths: dict[str, str] = {}  # path key -> stripped key of its latest record
        self.read_to: dict[str, int] = {}  # pack name -> bytes read so far
        self.counts: dict[str, int] = {}  # pack name -> records

    def refresh(self) -> None:
        try:
            names = sorted(n for n in os.listdir(self.folder) if n.startswith(PACK_PREFIX))
        except OSError:
            names = []
        for gone in set(self.read_to) - set(names):  # pruned by another process
            self.read_to.pop(gone)
            self.counts.pop(gone)
            self.entries = {k: r for k, r in self.entries.items() if r.pack != gone}
        for name in names:
            path = os.path.join(self.folder, name)
            done = self.read_to.get(name, 0)
            try:
                if os.stat(path).st_size <= done:
                    continue
            except OSError:
                continue
            records, self.read_to[name] = _scan(path, done)
            self.counts[name] = self.counts.get(name, 0) + len(records)
            for key, path_key, record in records:
                self.add(key, path_key, record)

    def add(self, key: str, path_key: str, record: _Record) -> None:
        self.entries[key] = record
        self.paths[path_key] = key

    def read(self, key: str) -> bytes | None:
        record = self.entries.get(key)
        if record is None:
            return None
        try:
            with open(record.pack, "rb") as handle:
                handle.seek(record.offset)
                data = handle.read(record.length)
        except OSError:
            return None
        return data if len(data) == record.length else None


_INDEXES: dict[str, _Index] = {}


def _index(folder: str) -> _Index:
    index = _INDEXES.get(folder)
    if index is None:
        index = _INDEXES[folder] = _Index(folder)
    index.refresh()
    return index


class _Writer:
    """This process's pack: created at its first record, appended to with one write a record."""

    def __init__(self, folder: str) -> None:
        import time

        self.index = _index(folder)
        os.makedirs(folder, exist_ok=True)
        self.name = f"{PACK_PREFIX}{time.time_ns():020d}-{os.getpid()}-{len(_WRITERS_MADE)}"
        _WRITERS_MADE.append(self.name)
        self.path = os.path.join(folder, self.name)
        self.descriptor = os.open(
            self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o666
        )
        self.size = 0
        self.records = 0
        _prune(self.index, keep=self.name)

    def append(self, key: str, path_key: str, original: bytes) -> None:
        header = b"%s %s %s - %d\n" % (MAGIC, key.encode(), path_key.encode(), len(original))
        written = os.writev(self.descriptor, (header, original))  # no copy of the original
        if written < len(header) + len(original):  # a short write: the rest, piece by piece
            view = memoryview(header + original)[written:]
            while view:
                view = view[os.write(self.descriptor, view) :]
        record = _Record(self.path, self.size + len(header), len(original))
        self.size += len(header) + len(original)
        self.records += 1
        self.index.read_to[self.name] = self.size
        self.index.counts[self.name] = self.index.counts.get(self.name, 0) + 1
        self.index.add(key, path_key, record)


_WRITERS: dict[str, _Writer] = {}
_WRITERS_MADE: list[str] = []  # this process's packs, numbered in their names


def _writer(folder: str) -> _Writer:
    """This process's pack for `folder`; a full one (MAX_ENTRIES records) is closed and a new
    one started, which prunes: one `git add` of thousands of notebooks keeps a bounded store."""
    writer = _WRITERS.get(folder)
    if writer is not None and writer.records >= MAX_ENTRIES:
        os.close(writer.descriptor)
        writer = None
    if writer is None:
        writer = _WRITERS[folder] = _Writer(folder)
    return writer


def remember(folder: str, pathname: str, original: bytes, stripped: bytes) -> None:
    """Keep `original` (what the user has on disk) under its stripped form and its path."""
    if original == stripped:
        return
    key = _digest(stripped)
    path_key = _digest(pathname.encode("utf-8"))
    try:
        writer = _WRITERS.get(folder)
        # The store as this process found it, read once (the writer's index is kept current).
        index = writer.index if writer is not None else _INDEXES.get(folder) or _index(folder)
        known = index.entries.get(key)
        if (
            known is not None
            and known.length == len(original)
            and index.paths.get(path_key) == key
            and index.read(key) == original
        ):
            return  # `git add` of a notebook already kept: nothing new to write
        _writer(folder).append(key, path_key, original)
    except OSError:
        pass  # a read-only git directory: the filter still strips, outputs are just not kept


def restore(folder: str, pathname: str, blob: bytes, options: StripOptions) -> bytes:
    """The notebook to write for `blob` at `pathname`: with outputs where they are known."""
    from torchlane.notebooks.strip import NotebookError

    index = _index(folder)
    key = _digest(blob)
    exact = index.read(key)
    if exact is None:
        exact = _read(os.path.join(folder, key))  # a store from before packs
    if exact is not None and _strips_to(exact, blob, options):
        return exact
    path_key = _digest(pathname.encode("utf-8"))
    latest_key = index.paths.get(path_key)
    latest = index.read(latest_key) if latest_key else None
    if latest is None:
        pointer = _read(os.path.join(folder, "path-" + path_key))
        latest = (
            _read(os.path.join(folder, pointer.decode("ascii", "replace"))) if pointer else None
        )
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


def _prune(index: _Index, keep: str) -> None:
    """Remove the oldest packs while the others hold more than MAX_ENTRIES records."""
    names = sorted(index.counts)
    total = sum(index.counts.values())
    for name in names:
        if name == keep or total <= MAX_ENTRIES:
            break
        total -= index.counts[name]
        try:  # noqa: SIM105  (contextlib would cost the filter's start-up an import)
            os.remove(os.path.join(index.folder, name))
        except OSError:
            pass
    index.refresh()
