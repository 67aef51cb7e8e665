"""What to scan: files on disk, the index (staged content), or lines that commits added."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.secrets.scan import (
    Finding,
    ScanSettings,
    Skipped,
    scan_content,
    scan_text,
    skip_reason,
)

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
COMMIT_MARK = b"\0commit "
_NO_BLOB = re.compile(rb"^0+$")
# Blob contents are read in batches of about this many bytes, so that a commit of thousands of
# files (or a history of large ones) never sits in memory at once.
BATCH_BYTES = 32 * 1024 * 1024
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def repo_files(git: Git, paths: Iterable[str] = ()) -> list[str]:
    """Tracked and untracked-but-not-ignored files (repository-relative), under `paths` if given."""
    out = git.run_bytes(
        "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *paths
    )
    return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})


def _tally(
    outcomes: Iterable[list[Finding] | Skipped],
) -> tuple[list[Finding], int, list[Skipped]]:
    """The findings, how many inputs were scanned, and those skipped, from one outcome each."""
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    scanned = 0
    for found in outcomes:
        if isinstance(found, Skipped):
            skipped.append(found)
        else:
            scanned += 1
            findings += found
    return findings, scanned, skipped


def scan_files(
    root: Path, relpaths: Iterable[str], settings: ScanSettings
) -> tuple[list[Finding], int, list[Skipped]]:
    """Scan files on disk; returns the findings, how many files were read, and those skipped."""

    def outcomes() -> Iterator[list[Finding] | Skipped]:
        for rel in relpaths:
            path = root / rel
            if rel == settings.baseline:
                continue  # hashes of accepted findings, by design: not a file to report as skipped
            try:
                if path.is_symlink() or not path.is_file():
                    continue  # a link's target is scanned where it lives in the repository
                reason = skip_reason(rel, path.stat().st_size, settings)
                data = b"" if reason else path.read_bytes()
            except OSError as error:
                yield Skipped(path=rel, reason=f"unreadable: {error.strerror}")
                continue
            yield Skipped(path=rel, reason=reason) if reason else scan_content(rel, data, settings)

    return _tally(outcomes())


def staged_paths(git: Git) -> list[str]:
    """Files added, copied, modified or renamed in the index (deletions have nothing to scan)."""
    out = git.run_bytes("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR")
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def _object_sizes(git: Git, names: list[bytes]) -> list[tuple[bytes, int] | None]:
    """`cat-file --batch-check` for `names`: (object id, size) of each blob, None otherwise."""
    out = git.run_bytes("cat-file", "--batch-check", input=b"".join(n + b"\n" for n in names))
    sizes: list[tuple[bytes, int] | None] = []
    for line in out.splitlines():
        fields = line.split()
        is_blob = len(fields) == 3 and fields[1] == b"blob"
        sizes.append((fields[0], int(fields[2])) if is_blob else None)
    return sizes


def _read_batch(git: Git, names: list[bytes]) -> Iterator[tuple[int, int, bytes]]:
    """(index into `names`, size, content) of each blob among `names`: one `cat-file --batch`."""
    out = git.run_bytes("cat-file", "--batch", input=b"".join(n + b"\n" for n in names))
    offset = 0
    for index in range(len(names)):
        header_end = out.index(b"\n", offset)
        header = out[offset:header_end].split()
        offset = header_end + 1
        if header[-1] == b"missing" or len(header) != 3:
            continue
        size = int(header[2])
        if header[1] == b"blob":
            yield index, size, out[offset : offset + size]
        offset += size + 1


def _blob_batches(
    git: Git, names: list[bytes], max_bytes: int | None, size_hints: list[int | None]
) -> Iterator[tuple[int, bytes | None]]:
    """(index into `names`, content) for each blob among `names`, content None for a blob over
    `max_bytes`. Memory stays bounded: when `size_hints` (the work-tree sizes, for staged files)
    say everything is small, one `cat-file --batch` reads it all, as a hook needs it to be fast;
    otherwise `--batch-check` gives the real sizes first, a blob over `max_bytes` is never read,
    and the rest are read in batches of about BATCH_BYTES."""
    if not names:
        return
    hinted = [h for h in size_hints if h is not None]
    limit = BATCH_BYTES if max_bytes is None else min(max_bytes, BATCH_BYTES)
    if len(hinted) == len(names) and sum(hinted) <= BATCH_BYTES and max(hinted) <= limit:
        for index, size, content in _read_batch(git, names):
            yield index, (None if max_bytes is not None and size > max_bytes else content)
        return
    batch: list[tuple[int, bytes]] = []
    total = 0
    for index, found in enumerate(_object_sizes(git, names)):
        if found is None:
            continue
        oid, size = found
        if max_bytes is not None and size > max_bytes:
            yield index, None
            continue
        batch.append((index, oid))
        total += size
        if total >= BATCH_BYTES:
            for position, _, content in _read_batch(git, [oid for _, oid in batch]):
                yield batch[position][0], content
            batch, total = [], 0
    if batch:
        for position, _, content in _read_batch(git, [oid for _, oid in batch]):
            yield batch[position][0], content


def _work_tree_sizes(git: Git, paths: list[str]) -> list[int | None]:
    sizes: list[int | None] = []
    for path in paths:
        try:
            sizes.append(os.stat(git.cwd / path).st_size)
        except (OSError, ValueError):
            sizes.append(None)
    return sizes


def index_blobs(git: Git, paths: list[str]) -> Iterator[tuple[str, bytes]]:
    """The staged content of `paths`: `git cat-file` in batches rather than a `git show :path`
    process per file, or one reply holding every file at once."""
    for path, content in _index_blobs_within(git, paths, None):
        if content is not None:
            yield path, content


def _index_blobs_within(
    git: Git, paths: list[str], max_bytes: int | None
) -> Iterator[tuple[str, bytes | None]]:
    names = [f":{p}".encode("utf-8", "surrogateescape") for p in paths]
    for index, content in _blob_batches(git, names, max_bytes, _work_tree_sizes(git, paths)):
        yield paths[index], content


def scan_staged(git: Git, settings: ScanSettings) -> tuple[list[Finding], int, list[Skipped]]:
    excluded: list[Skipped] = []
    wanted = []
    for path in staged_paths(git):
        if path == settings.baseline:
            continue
        if settings.excludes(path):
            excluded.append(Skipped(path=path, reason="excluded"))
        else:
            wanted.append(path)
    findings, scanned, skipped = _tally(
        Skipped(path=path, reason="too large")
        if content is None
        else scan_content(path, content, settings)
        for path, content in _index_blobs_within(git, wanted, settings.max_file_bytes)
    )
    return findings, scanned, excluded + skipped


def _notebook_line(line: str) -> str:
    """An added line of a notebook's JSON as the text its strings encode: `"x = \\"a\\"\\n",`
    becomes `x = "a"`. Several strings on one line are joined by spaces, keeping one line."""
    decoded: list[str] = []
    for literal in _JSON_STRING.findall(line):
        try:
            decoded.append(json.loads(literal).rstrip("\n"))
        except ValueError:
            decoded.append(literal)
    return " ".join(decoded) if decoded else line


def _scan_added(
    commit: str, path: str, added: list[tuple[int, str]], settings: ScanSettings
) -> list[Finding]:
    if not added or settings.excludes(path):
        return []
    texts = [_notebook_line(t) if path.endswith(".ipynb") else t for _, t in added]
    return scan_text(
        "\n".join(texts), path, settings, line_numbers=[n for n, _ in added], commit=commit
    )


def _path_of(header: bytes) -> str | None:
    raw = header[4:].rstrip(b"\n").decode("utf-8", "surrogateescape")
    if raw == "/dev/null":
        return None
    if raw.startswith('"'):  # a quoted path (special characters): undo C-style quoting
        raw = raw[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        raw = raw.encode("latin-1").decode("utf-8", "surrogateescape")
    return raw[2:] if raw.startswith("b/") else raw


def _binary_path(line: bytes) -> str | None:
    """The new path in git's `Binary files a/x and b/x differ` (None for a deletion)."""
    body = line.rstrip(b"\n").removeprefix(b"Binary files ").removesuffix(b" differ")
    head, sep, tail = body.rpartition(b" and ")
    return _path_of(b"+++ " + tail) if sep and head else None


def _scan_binary_diffs(
    git: Git, pending: list[tuple[str, str, bytes]], settings: ScanSettings
) -> tuple[list[Finding], list[Skipped]]:
    """Files git shows as `Binary files ... differ` (UTF-16 text, text with NUL bytes, real
    binaries): their new content is scanned whole, in the commit that wrote it."""
    skipped: list[Skipped] = []
    wanted = []
    for commit, path, oid in pending:
        if path == settings.baseline:
            continue
        if settings.excludes(path):
            skipped.append(Skipped(path=path, reason="excluded", commit=commit))
        else:
            wanted.append((commit, path, oid))
    # Each version of such a file is read whole, so a secret that stays in it is found in every
    # commit that changed the file: keep the oldest (git log lists the newest first).
    first: dict[tuple[str, str, str], Finding] = {}
    oids = [oid for _, _, oid in wanted]
    for index, content in _blob_batches(git, oids, settings.max_file_bytes, [None] * len(oids)):
        commit, path, _ = wanted[index]
        if content is None:
            skipped.append(Skipped(path=path, reason="too large", commit=commit))
            continue
        found = scan_content(path, content, settings, commit)
        if isinstance(found, Skipped):
            skipped.append(found)
        else:
            first.update(((f.path, f.rule, f.sha256), f) for f in found)
    return list(first.values()), skipped


def _scan_patch_lines(
    lines: Iterable[bytes], settings: ScanSettings
) -> tuple[list[Finding], int, dict[bytes, tuple[str, str, bytes]]]:
    """Scan the added lines of a patch (`git log -p` or `git diff` output) as they stream by.
    Returns the findings, the number of commits seen, and the files shown as binary by new blob
    id (with the first commit and path that showed each)."""
    findings: list[Finding] = []
    commits = 0
    commit, path = "", None
    added: list[tuple[int, str]] = []
    number = 0
    new_blob = b""
    binaries: dict[bytes, tuple[str, str, bytes]] = {}
    for raw in lines:
        if raw.startswith(COMMIT_MARK):
            findings += _scan_added(commit, path or "", added, settings)
            commit, path, added = raw[len(COMMIT_MARK) :].strip().decode(), None, []
            commits += 1
        elif raw.startswith(b"+++ "):
            findings += _scan_added(commit, path or "", added, settings)
            path, added = _path_of(raw), []
        elif raw.startswith(b"@@"):
            hunk = _HUNK.match(raw)
            number = int(hunk.group(1)) if hunk else 0
        elif raw.startswith(b"+") and path is not None:
            added.append((number, raw[1:].rstrip(b"\r\n").decode("utf-8", "replace")))
            number += 1
        elif raw.startswith(b"diff --git "):
            findings += _scan_added(commit, path or "", added, settings)
            path, added, new_blob = None, [], b""
        elif raw.startswith(b"index ") and path is None:
            new_blob = raw.split()[1].partition(b"..")[2]
        elif raw.startswith(b"Binary files ") and path is None:
            binary_path = _binary_path(raw)
            if binary_path is not None and new_blob and not _NO_BLOB.match(new_blob):
                binaries.setdefault(new_blob, (commit, binary_path, new_blob))
    findings += _scan_added(commit, path or "", added, settings)
    return findings, commits, binaries


def scan_log(
    git: Git, revisions: list[str], settings: ScanSettings
) -> tuple[list[Finding], int, list[Skipped]]:
    """Scan the lines each commit in `git log <revisions>` added, streaming the patch so that a
    long history never sits in memory. Returns the findings, the number of commits read, and
    the files skipped (binary ones are read whole: UTF-16 text is "binary" to git)."""
    args = ["-c", "core.quotepath=false", "log", "-p", "-U0", "--no-color", "--no-ext-diff"]
    args += ["--no-textconv", "--no-renames", "--full-index", "--format=%x00commit %H"]
    args += [*revisions, "--"]
    findings, commits, binaries = _scan_patch_lines(git.stream(*args), settings)
    found, skipped = _scan_binary_diffs(git, list(binaries.values()), settings)
    return findings + found, commits, skipped


def scan_patch(patch: str, settings: ScanSettings) -> list[Finding]:
    """Findings in the lines a patch (`git diff` output) adds, at their lines in the new files."""
    lines = patch.encode("utf-8", "surrogateescape").splitlines(keepends=True)
    return _scan_patch_lines(lines, settings)[0]


def within(root: Path, paths: Iterable[str]) -> list[str]:
    """User-given paths (relative to the current directory) as repository-relative ones."""
    relative: list[str] = []
    for given in paths:
        absolute = Path(given).resolve()
        if absolute == root:
            relative.append(".")
            continue
        try:
            relative.append(absolute.relative_to(root).as_posix())
        except ValueError:
            raise TorchlaneError(
                f"{given} is outside the repository at {root}.",
                "Scan paths inside the repository, or run the command from the other one.",
            ) from None
    return relative
