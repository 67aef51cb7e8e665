"""Loading `[tool.torchlane]` from pyproject.toml (fallback `.torchlane.toml`) into the schema.

Every section is a pydantic model with `extra="forbid"`: a misspelt key in a gate rule must be an
error, not a rule silently ignored. Errors name the file, the key and what is allowed.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from torchlane.config.settings import TorchlaneConfig
from torchlane.config.source import find_config_source
from torchlane.config.values import HINT_KEY
from torchlane.errors import TorchlaneError


@dataclass(frozen=True)
class LoadedConfig:
    config: TorchlaneConfig
    path: Path | None  # None: no file declares torchlane settings; all defaults
    table: str  # how the settings' table is written in that file, for messages
    # load_config(tolerant=True) only: the problems whose sections were replaced by defaults
    warnings: tuple[str, ...] = field(default=())


def _describe_error(path: Path, table: str, error: Any) -> str:
    location = [str(part) for part in error["loc"]]
    key = location[-1] if location else "?"
    section = ".".join(filter(None, [table, *location[:-1]]))
    where = f"[{section}] {key}" if section else key
    if error["type"] == "extra_forbidden":
        return f"{path.name}: {where}: unknown key"
    given = error.get("input")
    # config.values' refusals already show the value.
    shown = (
        "" if isinstance(given, dict) or error["type"] == "torchlane_value" else f" (got {given!r})"
    )
    return f"{path.name}: {where}: {error['msg']}{shown}"


def _allowed_keys(error: Any) -> list[str]:
    model: type[BaseModel] = TorchlaneConfig
    parts = iter(error["loc"][:-1])
    for part in parts:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if typing.get_origin(annotation) is dict:  # a table of named sections: skip the name
            annotation = typing.get_args(annotation)[1]
            next(parts, None)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # `Section | None`
            models = [a for a in typing.get_args(annotation) if isinstance(a, type)]
            annotation = next((a for a in models if issubclass(a, BaseModel)), None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


def parse_config(raw: dict[str, Any], path: Path, table: str) -> TorchlaneConfig:
    try:
        return TorchlaneConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = _describe_error(path, table, first)
        allowed = _allowed_keys(first) if first["type"] == "extra_forbidden" else []
        hint = (
            f"Allowed keys here: {', '.join(allowed)}."
            if allowed
            else str((first.get("ctx") or {}).get(HINT_KEY, ""))
            or "See the configuration reference in torchlane's README."
        )
        if len(exc.errors()) > 1:
            hint += f" ({len(exc.errors()) - 1} more problem(s) after this one.)"
        raise TorchlaneError(message + ".", hint) from exc


def load_config(root: Path, *, tolerant: bool = False) -> LoadedConfig:
    """The settings; tolerant=True (read-only commands) replaces each invalid section by its
    defaults and says so in `warnings`, instead of refusing to run at all."""
    path, table, raw = find_config_source(root)
    if path is None:
        return LoadedConfig(TorchlaneConfig(), None, table)
    if not tolerant:
        return LoadedConfig(parse_config(raw, path, table), path, table)
    try:
        return LoadedConfig(TorchlaneConfig.model_validate(raw), path, table)
    except ValidationError as exc:
        errors = exc.errors()
    broken = sorted({str(error["loc"][0]) for error in errors if error["loc"]})
    kept = {key: value for key, value in raw.items() if key not in broken}
    config = parse_config(kept, path, table)  # what is left is valid, or strict as before
    warnings = tuple(_describe_error(path, table, error) for error in errors)
    ignored = ", ".join(f"[{table}.{name}]" for name in broken)
    note = f"{path.name}: ignoring {ignored} (defaults used) until it is fixed"
    return LoadedConfig(config, path, table, (*warnings, note))
