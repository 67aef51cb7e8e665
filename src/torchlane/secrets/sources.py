"""What to scan: files on disk, the index (staged content), or lines that commits added."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.secrets.scan import Finding, ScanSettings, scan_content, scan_text

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
COMMIT_MARK = b"\0commit "
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def repo_files(git: Git, paths: Iterable[str] = ()) -> list[str]:
    """Tracked and untracked-but-not-ignored files (repository-relative), under `paths` if given."""
    out = git.run_bytes(
        "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *paths
    )
    return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})


def scan_files(
    root: Path, relpaths: Iterable[str], settings: ScanSettings
) -> tuple[list[Finding], int]:
    """Scan files on disk; returns the findings and how many files were read."""
    findings: list[Finding] = []
    scanned = 0
    for rel in relpaths:
        path = root / rel
        try:
            if path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_size > settings.max_file_bytes:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        found = scan_content(rel, data, settings)
        if found is not None:
            scanned += 1
            findings += found
    return findings, scanned


def staged_paths(git: Git) -> list[str]:
    """Files added, copied, modified or renamed in the index (deletions have nothing to scan)."""
    out = git.run_bytes("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR")
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def index_blobs(git: Git, paths: list[str]) -> Iterator[tuple[str, bytes]]:
    """The staged content of `paths`: one `git cat-file --batch` for all of them rather than a
    `git show :path` process per file."""
    if not paths:
        return
    request = "".join(f":{p}\n" for p in paths).encode("utf-8", "surrogateescape")
    out = git.run_bytes("cat-file", "--batch", input=request)
    offset = 0
    for path in paths:
        header_end = out.index(b"\n", offset)
        header = out[offset:header_end].split()
        offset = header_end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        content = out[offset : offset + size]
        offset += size + 1
        if header[1] == b"blob":
            yield path, content


def scan_staged(git: Git, settings: ScanSettings) -> tuple[list[Finding], int]:
    findings: list[Finding] = []
    scanned = 0
    for path, content in index_blobs(git, staged_paths(git)):
        found = scan_content(path, content, settings)
        if found is not None:
            scanned += 1
            findings += found
    return findings, scanned


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


def scan_log(git: Git, revisions: list[str], settings: ScanSettings) -> tuple[list[Finding], int]:
    """Scan the lines each commit in `git log <revisions>` added, streaming the patch so that a
    long history never sits in memory. Returns the findings and the number of commits read."""
    args = ["-c", "core.quotepath=false", "log", "-p", "-U0", "--no-color", "--no-ext-diff"]
    args += ["--no-textconv", "--no-renames", "--format=%x00commit %H", *revisions, "--"]
    findings: list[Finding] = []
    commits = 0
    commit, path = "", None
    added: list[tuple[int, str]] = []
    number = 0
    for raw in git.stream(*args):
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
            path, added = None, []
    findings += _scan_added(commit, path or "", added, settings)
    return findings, commits


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
