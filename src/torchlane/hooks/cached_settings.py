"""The settings hooks need, read from a small cache so that a hook never loads pydantic.

The cache lives in `<git dir>/torchlane/hook-settings.marshal` and is keyed by the mtime and size
of pyproject.toml and .torchlane.toml. When it is stale, `refresh` validates the configuration
through the real pydantic models (one source of truth) and rewrites it. It is written with
`marshal`, which is built into the interpreter: `json` alone would cost a pre-push hook ~5 ms
out of a ~15 ms budget. marshal must only read trusted files; this one sits in .git next to the
hook scripts themselves, which anyone able to write it could replace anyway.
"""

from __future__ import annotations

import marshal
import os
import sys

from torchlane.leanfs import git_dir_of, write_atomic

CACHE_VERSION = 1
CONFIG_FILES = ("pyproject.toml", ".torchlane.toml")
CACHE_NAME = "hook-settings.marshal"


def _stamp(worktree: str) -> tuple[object, ...]:
    parts: list[object] = [CACHE_VERSION]
    for name in CONFIG_FILES:
        try:
            info = os.stat(os.path.join(worktree, name))
            parts.append((name, info.st_mtime_ns, info.st_size))
        except OSError:
            parts.append((name, -1, -1))
    return tuple(parts)


def load(worktree: str = ".") -> dict[str, object]:
    """The hook settings: {"naming": ..., "hooks": ..., "secrets": ...} as builtins."""
    path = os.path.join(git_dir_of(worktree), "torchlane", CACHE_NAME)
    stamp = _stamp(worktree)
    try:
        with open(path, "rb") as handle:
            data = marshal.load(handle)
        if isinstance(data, dict) and data.get("stamp") == stamp:
            return data
    except (OSError, ValueError, EOFError, TypeError):
        pass
    return refresh(worktree, path, stamp)


def refresh(worktree: str, path: str, stamp: tuple[object, ...]) -> dict[str, object]:
    from pathlib import Path

    from torchlane.config.load import load_config
    from torchlane.naming import naming_rules

    config = load_config(Path(worktree)).config
    data: dict[str, object] = {
        "stamp": stamp,
        "naming": naming_rules(config).as_plain(),
        "hooks": config.hooks.model_dump(mode="python"),
        "secrets": config.secrets.model_dump(mode="python"),
    }
    try:
        write_atomic(path, marshal.dumps(data))
    except OSError as exc:  # a read-only .git still gets correct (if slower) hooks
        print(f"torchlane: could not cache hook settings in {path}: {exc}", file=sys.stderr)
    return data
