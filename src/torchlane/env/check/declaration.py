"""`[tool.torchlane.env]` as `env check` reads it: the validated values and where each key is.

The values come from the settings snapshot (torchlane.config.snapshot), so a warm hook reads them
without pydantic while the schema (EnvSpec) stays the only place that defines and checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from torchlane.config import PYPROJECT
from torchlane.config.snapshot import load_snapshot


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


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):  # the snapshot dumps every tuple as a list
        raise ValueError(f"expected a list in the settings snapshot, got {value!r}")
    return tuple(str(item) for item in value)


def load_declaration(root: Path) -> Declaration | None:
    """The declaration, or None when the repository has no `[tool.torchlane.env]` table."""
    from torchlane.env.check.memo import remember

    snapshot = load_snapshot(str(root))
    if snapshot.source is None or "env" not in snapshot.declared:
        return None
    path = root / snapshot.source
    header = "[tool.torchlane.env]" if snapshot.source == PYPROJECT else "[env]"
    lines = remember(
        path, f"lines{header}", lambda: _key_lines(path.read_text(encoding="utf-8"), header)
    )
    env = snapshot.section("env")
    return Declaration(
        path=snapshot.source,
        python=str(env["python"]),
        torch=_optional(env["torch"]),
        accelerator=str(env["accelerator"]),
        flavor=str(env["flavor"]),
        base_image=_optional(env["base_image"]),
        requirements=_strings(env["requirements"]),
        lock=str(env["lock"]),
        lines=lines,
    )
