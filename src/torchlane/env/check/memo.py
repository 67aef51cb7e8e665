"""Parsed file contents remembered between `env check` runs, keyed by the file's stat.

A pre-commit hook runs the check after every `git add`, so the whole-result cache rarely hits
there; remembering each file's parse lets an unchanged compose file or pyproject.toml skip
PyYAML and tomllib. fastcheck loads and saves the entries with its cache (marshal format, so
values are plain tuples, lists, dicts and strings).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchlane.leanfs import RACY_NS, stat_signature

_known: dict[str, tuple[tuple[int, int, int], Any]] = {}
_used: dict[str, tuple[tuple[int, int, int], Any]] = {}


def load(entries: object) -> None:
    if isinstance(entries, dict):
        _known.update(entries)


def used() -> dict[str, tuple[tuple[int, int, int], Any]]:
    """The entries this run read or computed: what is worth keeping for the next run."""
    return dict(_used)


def remember(path: Path, kind: str, compute: Callable[[], Any]) -> Any:
    """compute() (plain data only), or its remembered value when `path` is unchanged."""
    signature = stat_signature(path)
    if signature is None:
        return compute()
    key = f"{kind}:{path}"
    known = _known.get(key)
    if known is not None and known[0] == signature:
        _used[key] = known
        return known[1]
    value = compute()
    if signature[0] < time.time_ns() - RACY_NS:
        _used[key] = (signature, value)
    return value
