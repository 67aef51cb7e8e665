"""Which file holds the torchlane settings: `[tool.torchlane]` in pyproject.toml or `.torchlane.toml`.

The full loader (torchlane.config.load) validates what this finds; `torchlane init` and the demo
only ask where the settings live, so this module stays free of pydantic. Settings in both files
are refused rather than merged: with two places to look, a key set in one and silently shadowed
by the other is exactly the bug a merge invites (which file wins for `[branches] main`?).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torchlane.config import FALLBACK_FILE, PYPROJECT
from torchlane.errors import TorchlaneError

__all__ = ["FALLBACK_FILE", "PYPROJECT", "find_config_source", "read_toml"]


def read_toml(path: Path) -> dict[str, Any]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TorchlaneError(
            f"{path.name} is not valid TOML: {exc}.", f"Fix the syntax in {path}."
        ) from exc
    except UnicodeDecodeError as exc:
        raise TorchlaneError(
            f"{path.name} is not UTF-8 text.", f"Re-save {path} as UTF-8."
        ) from exc


def _pyproject_table(pyproject: Path) -> dict[str, Any] | None:
    tool = read_toml(pyproject).get("tool", {})
    if not isinstance(tool, dict) or "torchlane" not in tool:
        return None
    raw = tool["torchlane"]
    if not isinstance(raw, dict):
        raise TorchlaneError(
            f"{PYPROJECT}: `tool.torchlane` must be a table.",
            "Write it as a `[tool.torchlane]` section.",
        )
    return raw


def find_config_source(root: Path) -> tuple[Path | None, str, dict[str, Any]]:
    """(file, how its table is written, the torchlane table); (None, ..., {}) when neither has one.

    An empty `.torchlane.toml` declares nothing, so it neither counts as a source nor conflicts.
    """
    pyproject, fallback = root / PYPROJECT, root / FALLBACK_FILE
    in_pyproject = _pyproject_table(pyproject) if pyproject.is_file() else None
    in_fallback = read_toml(fallback) if fallback.is_file() else None
    if in_pyproject is not None and in_fallback:
        raise TorchlaneError(
            f"Both {PYPROJECT} ([tool.torchlane]) and {FALLBACK_FILE} hold torchlane settings; "
            "torchlane reads only one of them.",
            f"Move the tables of {FALLBACK_FILE} into {PYPROJECT} under [tool.torchlane] "
            f"(`[branches]` becomes `[tool.torchlane.branches]`), then delete {FALLBACK_FILE}.",
        )
    if in_pyproject is not None:
        return pyproject, "tool.torchlane", in_pyproject
    if in_fallback:
        return fallback, "", in_fallback
    return None, "tool.torchlane", {}
