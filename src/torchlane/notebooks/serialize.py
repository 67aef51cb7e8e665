"""Notebook JSON exactly as nbformat.write lays it out, faster than json.dumps does it.

Imports json's C accelerator (`_json`) only, not json (which imports re): this runs in the git
filter process.
"""

from __future__ import annotations

try:  # the function json.dumps(ensure_ascii=False) escapes strings with
    from _json import encode_basestring as _encode_string
except ImportError:  # pragma: no cover - a Python without json's C accelerator
    from json.encoder import encode_basestring as _encode_string

TYPE_CHECKING = False  # typing stays out of the filter's start-up (see strip.py)
if TYPE_CHECKING:
    from typing import Any

_INFINITY = float("inf")
# key -> its encoding and ": ": notebooks repeat a few dozen keys. Bounded: a long filter
# process may meet many one-off keys (in outputs' JSON data, say).
_KEYS: dict[str, str] = {}
_KEYS_MAX = 2048


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
        _write_dict(value, newline, add)
    elif isinstance(value, list):
        _write_list(value, newline, add)
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


def _write_dict(value: dict[str, Any], newline: str, add: Any) -> None:
    if not value:
        add("{}")
        return
    inner = newline + " "
    separator = "," + inner
    add("{" + inner)
    first = True
    for key in sorted(value):
        item = value[key]
        prefix = _KEYS.get(key)
        if prefix is None:
            prefix = _encode_string(key) + ": "
            if len(_KEYS) < _KEYS_MAX:
                _KEYS[key] = prefix
        if first:
            first = False
        else:
            prefix = separator + prefix
        # Strings, nulls and empty lists and objects (most of a stripped notebook's values:
        # outputs, metadata) without a call.
        if isinstance(item, str):
            add(prefix + _encode_string(item))
        elif item is None:
            add(prefix + "null")
        elif isinstance(item, list):
            if item:
                add(prefix)
                _write_list(item, inner, add)
            else:
                add(prefix + "[]")
        elif isinstance(item, dict):
            if item:
                add(prefix)
                _write_dict(item, inner, add)
            else:
                add(prefix + "{}")
        else:
            add(prefix)
            _write(item, inner, add)
    add(newline + "}")


def _write_list(value: list[Any], newline: str, add: Any) -> None:
    if not value:
        add("[]")
        return
    inner = newline + " "
    separator = "," + inner
    if isinstance(value[0], str):  # lines of text: encoded and joined in C
        try:
            add("[" + inner + separator.join(map(_encode_string, value)) + newline + "]")
            return
        except TypeError:  # not every item is a string
            pass
    add("[" + inner)
    first = True
    for item in value:
        if first:
            first = False
        else:
            add(separator)
        if isinstance(item, dict):  # cells and outputs
            _write_dict(item, inner, add)
        else:
            _write(item, inner, add)
    add(newline + "]")


def _encode_float(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN is the one float unequal to itself
        return "NaN"
    if value in (_INFINITY, -_INFINITY):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
