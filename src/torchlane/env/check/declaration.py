"""`[tool.torchlane.env]` read without pydantic, for `env check` on the hook path.

A valid declaration is read with tomllib alone. Anything the simple rules here reject is handed to
the real schema (torchlane.config.load / EnvSpec), which raises its usual file-and-key error.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Must equal EnvSpec's defaults; tests/env/test_declaration.py compares them.
DEFAULTS: dict[str, Any] = {
    "python": "3.11",
    "torch": None,
    "accelerator": "cpu",
    "flavor": "runtime",
    "base_image": None,
    "requirements": ("requirements.txt",),
    "lock": "requirements.lock",
}
_SIMPLE = {
    "python": re.compile(r"3\.\d{1,2}"),
    "torch": re.compile(r"\d+\.\d+\.\d+"),
    "accelerator": re.compile(r"cpu|cuda\d+\.\d+|rocm\d+(\.\d+){1,2}"),
    "flavor": re.compile(r"runtime|devel"),
}


@dataclass(frozen=True)
class Declaration:
    path: str  # the file it came from, relative to the root
    python: str
    torch: str | None
    accelerator: str
    flavor: str
    base_image: str | None
    requirements: tuple[str, ...]
    lock: str
    lines: dict[str, int]  # key -> line in `path`, for findings

    @property
    def cuda(self) -> str | None:
        return self.accelerator[4:] if self.accelerator.startswith("cuda") else None

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.lines.get("", 0))


def _key_lines(text: str, header: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    inside = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("["):
            inside = stripped.replace(" ", "") == header
            if inside:
                lines[""] = number
            continue
        match = re.match(r"([A-Za-z_][\w-]*)\s*=", stripped)
        if inside and match:
            lines.setdefault(match.group(1), number)
    return lines


def _valid(raw: dict[str, Any]) -> bool:
    for key, value in raw.items():
        if key == "torch":
            if value is not None and not isinstance(value, str):
                return False
        elif key in _SIMPLE:
            if not isinstance(value, str) or not _SIMPLE[key].fullmatch(value):
                return False
        elif key == "requirements":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return False
        elif key in ("lock", "base_image", "shm_size", "memory"):
            if not isinstance(value, str):
                return False
        elif key in ("jupyter_port", "tensorboard_port"):
            if not isinstance(value, int) or not 1 <= value <= 65535:
                return False
        else:
            return False
    return True


def _source(root: Path) -> tuple[str, dict[str, Any], dict[str, int]] | None:
    """(file name, torchlane table, line of each env key), by torchlane.config.source's rule."""
    from torchlane.config.source import PYPROJECT, find_config_source, read_toml
    from torchlane.env.check.memo import remember

    def relevant(path: Path) -> dict[str, Any]:
        # Only the torchlane part is remembered: the memo holds plain data, and the rest of a
        # pyproject.toml may not be (TOML dates).
        data = read_toml(path)
        if path.name != PYPROJECT:
            return data
        tool = data.get("tool")
        return (
            {"tool": {"torchlane": tool["torchlane"]}}
            if isinstance(tool, dict) and "torchlane" in tool
            else {}
        )

    def read(path: Path) -> dict[str, Any]:
        found: dict[str, Any] = remember(path, "toml", functools.partial(relevant, path))
        return found

    path, _, table = find_config_source(root, read)
    if path is None:
        return None
    header = "[tool.torchlane.env]" if path.name == PYPROJECT else "[env]"
    lines = remember(path, f"lines{header}", lambda: _key_lines(_text(path), header))
    return path.name, table, lines


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_declaration(root: Path) -> Declaration | None:
    """The declaration, or None when the repository has no `[tool.torchlane.env]` table."""
    source = _source(root)
    if source is None:
        return None
    name, table, lines = source
    raw = table.get("env")
    if raw is None:
        return None
    values = {**DEFAULTS, **raw} if isinstance(raw, dict) and _valid(raw) else _schema_values(root)
    return Declaration(
        path=name,
        python=values["python"],
        torch=values["torch"],
        accelerator=values["accelerator"],
        flavor=values["flavor"],
        base_image=values["base_image"],
        requirements=tuple(values["requirements"]),
        lock=values["lock"],
        lines=lines,
    )


def _schema_values(root: Path) -> dict[str, Any]:
    """The declaration as the full schema reads it; raises its file-and-key error when invalid."""
    from torchlane.config.load import load_config

    values: dict[str, Any] = load_config(root).config.env.model_dump()
    return values
