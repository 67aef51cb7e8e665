"""Every configuration key in its guide: the keys of a Section, walked into its sub-tables, and
the keys a markdown guide's tables name."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from torchlane.config.section import Section

DOCS = Path(__file__).parents[1] / "docs"


def _sections(annotation: object) -> list[tuple[str, type[Section]]]:
    """The Section models a field holds: ("", M) for M or M | None or tuple[M, ...],
    (".NAME", M) for dict[str, M]."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return [("", annotation)]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict:
        return [(".NAME" + suffix, model) for suffix, model in _sections(args[1])]
    if origin in (tuple, typing.Union, types.UnionType):
        return [found for arg in args for found in _sections(arg)]
    return []


def config_keys(model: type[Section], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        key = prefix + name
        nested = _sections(field.annotation)
        if not nested:
            keys.append(key)
        for suffix, sub in nested:
            keys += config_keys(sub, f"{key}{suffix}.")
    return keys


def documented_keys(guide: str, heading: str) -> set[str]:
    """Backquoted names in the first column of the tables under `heading` (up to the next heading
    of its level or above)."""
    text = (DOCS / guide).read_text(encoding="utf-8")
    level = len(heading.split(" ", 1)[0])
    section = text.split(heading + "\n", 1)[1]
    section = re.split(rf"^#{{1,{level}}} ", section, maxsplit=1, flags=re.MULTILINE)[0]
    rows = re.findall(r"^\| *([^|]*)\|", section, re.MULTILINE)
    return {key for row in rows for key in re.findall(r"`([^`]+)`", row)}
