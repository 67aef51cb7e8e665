"""Strip or check notebook files on disk: the functions behind `torchlane nb strip/check` and the
pre-commit hook.

A file that cannot be stripped (not UTF-8, not JSON, not an nbformat 4 notebook, unreadable) is
reported and left byte-for-byte as it was. Writes go to a temporary file that replaces the
notebook in one step, so an interrupted run never leaves half a notebook.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from torchlane.leanfs import write_atomic
from torchlane.notebooks.options import StripOptions
from torchlane.notebooks.strip import NotebookError, strip_bytes

# Folders never searched when a directory is given: Jupyter's autosaves, VCS and environments.
SKIPPED_DIRS = frozenset(
    {".ipynb_checkpoints", ".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox"}
)


class Outcome(str, Enum):
    STRIPPED = "stripped"  # strip: the file was rewritten
    CLEAN = "clean"  # already stripped; left alone
    NEEDS_STRIP = "needs-strip"  # check: stripping would change the file
    INVALID = "invalid"  # not a notebook we can strip; left alone
    MISSING = "missing"  # the path does not exist


@dataclass(frozen=True)
class NotebookResult:
    path: Path
    outcome: Outcome
    reason: str = ""

    @property
    def failed(self) -> bool:
        """Whether this notebook makes `nb strip` / `nb check` exit non-zero."""
        return self.outcome in (Outcome.NEEDS_STRIP, Outcome.INVALID, Outcome.MISSING)


def find_notebooks(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given (whatever their extension); directories searched for *.ipynb, sorted."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for folder, subfolders, files in os.walk(path):
            subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_DIRS)
            for name in sorted(files):
                if name.endswith(".ipynb"):
                    yield Path(folder) / name


def strip_paths(paths: Iterable[Path], options: StripOptions) -> list[NotebookResult]:
    """Strip every notebook in place; one result per notebook, in path order."""
    return [_process(path, options, write=True) for path in find_notebooks(paths)]


def check_paths(
    paths: Iterable[Path],
    options: StripOptions | None = None,
    committed: dict[Path, bytes | None] | None = None,
) -> list[NotebookResult]:
    """Report which notebooks stripping would change, changing nothing.

    `committed` maps notebooks that git's notebook filter strips on their way into the index
    to their staged content (None: not staged yet, so it will be stripped when added): for
    those, what git stores is checked, not the file, whose outputs the filter exists to keep."""
    chosen = options or StripOptions()
    forms = committed or {}
    return [
        _process(path, chosen, write=False, content=forms.get(path, b""))
        if path in forms and forms.get(path) is not None
        else NotebookResult(path, Outcome.CLEAN, "stripped by the notebook filter when staged")
        if path in forms
        else _process(path, chosen, write=False)
        for path in find_notebooks(paths)
    ]


def _process(
    path: Path, options: StripOptions, *, write: bool, content: bytes | None = None
) -> NotebookResult:
    try:
        original = path.read_bytes() if content is None else content
    except FileNotFoundError:
        return NotebookResult(path, Outcome.MISSING, "no such file")
    except OSError as exc:
        return NotebookResult(path, Outcome.INVALID, f"cannot be read ({exc.strerror})")
    try:
        stripped = strip_bytes(original, options)
    except NotebookError as exc:
        return NotebookResult(path, Outcome.INVALID, str(exc))
    if stripped == original:
        return NotebookResult(path, Outcome.CLEAN)
    if not write:
        return NotebookResult(path, Outcome.NEEDS_STRIP)
    try:
        replace_file(path, stripped)
    except OSError as exc:
        return NotebookResult(path, Outcome.INVALID, f"cannot be written ({exc.strerror})")
    return NotebookResult(path, Outcome.STRIPPED)


def replace_file(path: Path, content: bytes) -> None:
    """Write `content` to `path` atomically, keeping the file's permission bits (through a
    symbolic link: the link stays a link)."""
    path = path.resolve() if path.is_symlink() else path
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    write_atomic(path, content, mode=mode)
