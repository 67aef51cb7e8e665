"""The filter parses notebooks with json's C scanner, called without importing json: exactly
what json.loads gives, or json.loads's own error."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.notebooks import samples
from torchlane.notebooks import strip
from torchlane.notebooks.options import StripOptions
from torchlane.notebooks.strip import NotebookError, loads, strip_text

pytestmark = pytest.mark.skipif(
    strip._scan is None, reason="this Python has no json C scanner (_json): json.loads is used"
)


def _same(left: Any, right: Any) -> bool:
    """Equal as values and as types (1, 1.0 and True are == in Python, not in a notebook)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return repr(left) == repr(right) or (math.isnan(left) and math.isnan(right))
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    return bool(left == right)


def _parse(text: str) -> tuple[str, Any]:
    try:
        return "ok", json.loads(text)
    except (ValueError, RecursionError) as exc:
        return "error", f"{type(exc).__name__}: {exc}"


def _ours(text: str) -> tuple[str, Any]:
    try:
        return "ok", loads(text)
    except (ValueError, RecursionError) as exc:  # the same error, word for word
        return "error", f"{type(exc).__name__}: {exc}"


# Numbers as JSON text: every shape the grammar allows, and several it does not.
number_text = st.from_regex(r"\A-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,4})?\Z")
odd_number = st.sampled_from(
    ["NaN", "-Infinity", "Infinity", "1e400", "-1e400", "01", "1.", ".5", "+1", "-", "1e", "-0"]
)
scalar_text = st.one_of(
    number_text,
    odd_number,
    st.text().map(json.dumps),  # escaped, including lone surrogates
    st.text().map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.text(max_size=8).map(lambda t: f'"{t}"'),  # raw: control characters, quotes, backslashes
    st.sampled_from(["true", "false", "null"]),
)


@st.composite
def json_text(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(scalar_text)
    items = [draw(json_text(depth + 1)) for _ in range(draw(st.integers(0, 4)))]
    if draw(st.booleans()):
        return "[" + ", ".join(items) + "]"
    keys = [draw(st.sampled_from(['"a"', '"b"', '"\\u0061"', '"c"'])) for _ in items]  # duplicates
    return "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, items, strict=True)) + "}"


# What may surround the value: JSON's whitespace, other Unicode spaces (not JSON's), a
# byte-order mark, trailing data.
padding = st.sampled_from(["", " ", "\n", "\t\r\n ", "\x0b", "\x0c", "\xa0", "\u3000", "\ufeff"])
tail = st.sampled_from(["", "x", "]", "}", "0", "[]", '""', ",", "/", "\x00"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_text(), padding, padding, tail)
def test_generated_json_parses_exactly_as_json_parses_it(
    value: str, before: str, after: str, extra: str
) -> None:
    text = before + value + after + extra
    expected, ours = _parse(text), _ours(text)
    assert expected[0] == ours[0], (text, expected, ours)
    assert _same(expected[1], ours[1]), (text, expected, ours)


@pytest.mark.parametrize(
    "text",
    [
        "[123456789012345678901234567890]",
        "[-9223372036854775809]",
        "[18446744073709551616]",
        '{"a": 1, "a": 2}',
        '"\\ud800"',
        "[NaN, Infinity, 1e400]",
        '{"a": "tab\there"}',
        "\ufeff[1]",
        "[1, 2,]",
        "",
        " ",
        "\n\t",
        "1 2",
        "[1]  \n",
        "  {}",
        "[1] x",
        "\u00a0[1]",
        '"\\u0000"',
        "-",
        "[1e999999]",
    ],
)
def test_edge_inputs_get_json_s_answer(text: str) -> None:
    expected, ours = _parse(text), _ours(text)
    assert expected[0] == ours[0]
    assert _same(expected[1], ours[1]), (expected, ours)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**70) | st.floats(allow_nan=False, allow_infinity=False), st.booleans())
def test_a_notebook_strips_to_the_same_bytes_with_json_loads(
    number: float, in_metadata: bool
) -> None:
    notebook = samples.session_notebook()
    if in_metadata:
        notebook["metadata"]["value"] = number
    else:
        notebook["cells"][1]["metadata"]["value"] = number
    text = samples.dump(notebook)
    with_scanner = strip_text(text, StripOptions())
    original, strip._scan = strip._scan, None  # loads then calls json.loads
    try:
        with_json = strip_text(text, StripOptions())
    finally:
        strip._scan = original
    assert with_scanner == with_json


def test_invalid_json_is_still_a_notebook_error() -> None:
    with pytest.raises(NotebookError, match="not valid JSON"):
        strip_text('{"cells": [', StripOptions())


@pytest.mark.parametrize("text", ['{"cells": [', "[1, 2,]", "", "[1] x", "\ufeff[]", "[1]"])
def test_a_process_without_json_imported_gets_json_s_answer(text: str) -> None:
    """The scanner words its errors with json.decoder, which the filter has not imported."""
    script = (
        "import sys\n"
        "from torchlane.notebooks.strip import loads\n"
        "assert 'json' not in sys.modules, 'the strip module imported json'\n"
        "try:\n"
        "    print('ok', repr(loads(sys.argv[1])))\n"
        "except ValueError as exc:\n"
        "    print('error', type(exc).__name__, exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, text], capture_output=True, text=True, check=True
    )
    kind, answer = _parse(text)
    expected = f"ok {answer!r}" if kind == "ok" else f"error {answer.replace(':', '', 1)}"
    assert result.stdout.strip() == expected
