"""The validated settings as plain values, for the commands that must start fast.

The git hooks, `check-name` and `env check` run in a fresh interpreter many times a day, where
importing pydantic and the schema would cost more than their own work. They read this snapshot:
`TorchlaneConfig.model_dump()` kept in `<git dir>/torchlane/settings.marshal`, keyed by
torchlane's version and the stat of pyproject.toml and .torchlane.toml. On a miss the full loader
(torchlane.config.load) reads and validates the settings, so it stays their only validator and an
invalid file fails with its usual error. Outside a git repository there is nowhere to keep the
snapshot, and every call validates.

Only `os` and `marshal` are imported here (`json` alone would cost a pre-push hook a third of its
budget). marshal must only read trusted files; this one sits in .git next to the hook scripts,
which anyone able to write it could replace anyway.
"""

from __future__ import annotations

import marshal
import os
import sys

from torchlane import __version__
from torchlane.config import FALLBACK_FILE, PYPROJECT
from torchlane.leanfs import git_dir_of, stat_signature, write_atomic

SNAPSHOT_NAME = "settings.marshal"
_FORMAT = 1

Settings = dict[str, dict[str, object]]


class Snapshot:
    """One work tree's settings as builtins: section -> key -> value, defaults included."""

    __slots__ = ("declared", "settings", "source")

    def __init__(self, settings: Settings, source: str | None, declared: tuple[str, ...]) -> None:
        self.settings = settings
        self.source = source  # the file holding the settings; None when all are defaults
        self.declared = declared  # the sections that file writes

    def section(self, name: str) -> dict[str, object]:
        return self.settings[name]


def _stamp(root: str) -> list[object]:
    parts: list[object] = [__version__, _FORMAT]
    for name in (PYPROJECT, FALLBACK_FILE):
        parts.append(stat_signature(os.path.join(root, name)))
    return parts


def snapshot_path(root: str) -> str | None:
    """Where the snapshot of the work tree at `root` is kept; None outside a repository."""
    git_dir = git_dir_of(root)
    return os.path.join(git_dir, "torchlane", SNAPSHOT_NAME) if os.path.isdir(git_dir) else None


def load_snapshot(root: str) -> Snapshot:
    """The settings of the work tree at `root`; raises the loader's TorchlaneError if invalid."""
    path = snapshot_path(root)
    if path is None:
        return validate(root)
    stamp = _stamp(root)
    try:
        with open(path, "rb") as handle:
            stored = marshal.load(handle)
        if type(stored) is list and len(stored) == 4 and stored[0] == stamp:
            return Snapshot(stored[1], stored[2], stored[3])
    except (OSError, EOFError, ValueError, TypeError):
        pass  # missing or damaged: rebuilt below
    snapshot = validate(root)
    stored = [stamp, snapshot.settings, snapshot.source, snapshot.declared]
    try:
        write_atomic(path, marshal.dumps(stored))
    except OSError as exc:  # a read-only .git still gets correct (if slower) answers
        print(f"torchlane: could not cache the settings in {path}: {exc}", file=sys.stderr)
    return snapshot


def validate(root: str) -> Snapshot:
    """The settings read and checked by the full loader (pydantic), as plain values."""
    from pathlib import Path

    from torchlane.config.load import load_config

    loaded = load_config(Path(root))
    return Snapshot(
        # JSON mode: only builtins marshal can store (lists, not tuples; no enums or paths).
        loaded.config.model_dump(mode="json"),
        loaded.path.name if loaded.path else None,
        tuple(sorted(loaded.config.model_fields_set)),
    )
