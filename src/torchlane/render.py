"""Rendering of results: JSON for tools, rich tables for people. Results themselves are plain data.

rich is imported inside the functions: quick commands and hooks must not pay for it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


_PLAIN = frozenset({str, int, float, bool, type(None)})  # exactly these: an enum is not plain
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _to_jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        if kind is float and not math.isfinite(value):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {name: _to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def to_json(value: Any) -> str:
    data = _to_jsonable(value)
    fast = _orjson_text(data)
    if fast is not None:
        return fast
    return json.dumps(data, indent=2, sort_keys=False, allow_nan=False)


def _orjson_text(data: Any) -> str | None:
    """The same document through orjson when it is installed (`torchlane[fast]`): json.dumps
    with an indent runs CPython's pure-Python encoder, ~40 ms for `status --json` of 1,000
    branches. None where the two would differ beyond number spelling: non-ASCII text (json
    escapes it, so the output stays ASCII), integers beyond 64 bits (orjson refuses them).
    Non-finite floats never get here (_to_jsonable refuses them, as json would)."""
    try:
        import orjson
    except ImportError:
        return None
    try:
        out: bytes = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return out.decode("ascii") if out.isascii() else None


def print_json(value: Any) -> None:
    sys.stdout.write(to_json(value) + "\n")


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    # rich honours NO_COLOR itself; we also drop colour when output is not a terminal.
    return Console(stderr=stderr, no_color="NO_COLOR" in os.environ, highlight=False)


_UNWRAPPED = 100_000


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.table import Table
    from rich.text import Text

    # Every cell is literal text, never rich markup: a commit subject "[skip ci]" must show as
    # typed, and "[/]" in a metric name must not crash the table.
    table = Table(title=None if title is None else Text(title), show_lines=False)
    for column in columns:
        # Wrap, never cut: a fix command or branch name cut at 80 columns (CI logs) is useless.
        table.add_column(Text(column, style="bold"), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out = console()
    if not out.is_terminal:
        # Piped (CI logs, grep, a file): no terminal to fit, so never wrap; rich would otherwise
        # fold every cell to COLUMNS or 80.
        out.width = _UNWRAPPED
    out.print(table)


def say(message: str, *, style: str | None = None, stderr: bool = False) -> None:
    """A line for people. Plain `print` when there is no style, to keep quick paths cheap."""
    if style is None or "NO_COLOR" in os.environ:
        print(message, file=sys.stderr if stderr else sys.stdout)
        return
    console(stderr=stderr).print(message, style=style, markup=False)


_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+!|~")
_HTML = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def fenced_block(text: str) -> list[str]:
    """Lines of a Markdown code block that shows `text` literally: the fence is longer than any
    run of backticks inside, so output that itself holds a fence cannot close it early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def markdown_text(text: str, *, code_spans: bool = False) -> str:
    """User text (a metric name, a commit subject, a path) as literal Markdown on one line:
    HTML as entities, Markdown punctuation backslash-escaped, newlines as spaces. With
    `code_spans`, backticks are kept, for torchlane's own messages that quote commands."""
    out = []
    for ch in text:
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in "\r\n":
            out.append(" ")
        elif ch in _MARKDOWN_SPECIAL and not (code_spans and ch == "`"):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
