"""Notebook JSON exactly as nbformat.write lays it out, faster than json.dumps does it.

Imports json only: this runs in the git filter process.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _encode_string  # the C version when available

TYPE_CHECKING = False  # typing stays out of the filter's start-up (see strip.py)
if TYPE_CHECKING:
    from typing import Any

_INFINITY = float("inf")


def serialize(notebook: dict[str, Any]) -> str:
    """Exactly what nbformat.write produces: json.dumps(indent=1, sort_keys=True,
    ensure_ascii=False) and a final newline.

    Written out by hand because json.dumps falls back to its pure-Python encoder whenever
    `indent` is set, and that encoder's generators cost more than the rest of the filter. This
    keeps the C string encoder and the same number formatting; the conformance tests compare the
    two on every sample.
    """
    parts: list[str] = []
    _write(notebook, "\n", parts.append)
    parts.append("\n")
    return "".join(parts)


def _write(value: Any, newline: str, add: Any) -> None:
    if isinstance(value, str):
        add(_encode_string(value))
    elif isinstance(value, dict):
        if not value:
            add("{}")
            return
        inner = newline + " "
        separator = "," + inner
        add("{" + inner)
        for position, key in enumerate(sorted(value)):
            if position:
                add(separator)
            add(_encode_string(key) + ": ")
            _write(value[key], inner, add)
        add(newline + "}")
    elif isinstance(value, list):
        if not value:
            add("[]")
            return
        inner = newline + " "
        separator = "," + inner
        add("[" + inner)
        for position, item in enumerate(value):
            if position:
                add(separator)
            _write(item, inner, add)
        add(newline + "]")
    elif value is None:
        add("null")
    elif value is True:
        add("true")
    elif value is False:
        add("false")
    elif isinstance(value, int):
        add(int.__repr__(value))
    elif isinstance(value, float):
        add(_encode_float(value))
    else:
        raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def _encode_float(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN is the one float unequal to itself
        return "NaN"
    if value in (_INFINITY, -_INFINITY):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
