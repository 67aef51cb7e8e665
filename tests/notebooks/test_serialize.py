"""serialize() writes exactly what nbformat writes, json.dumps(indent=1, sort_keys=True,
ensure_ascii=False) and a newline, for every JSON value json.loads can give (and for the big
integers, NaN and infinities json accepts beyond the JSON standard)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchlane.notebooks import serialize as serialize_module
from torchlane.notebooks.serialize import serialize


def _reference(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# Every character, lone surrogates included (json.loads gives them for "\ud800"), and the
# characters json escapes: quotes, backslashes, control characters.
any_text = st.text(st.characters(), max_size=12) | st.sampled_from(
    ["", '"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "\ud800", "é", "😀", "\n\r\t\b\f"]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**200),
    st.floats(),  # NaN, infinities, -0.0, subnormals
    st.sampled_from([1e16, 1e-05, 1e22, 5e-324, 1.7976931348623157e308, -0.0, 0.1]),
    any_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(any_text, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_is_written_as_json_dumps_writes_it(value: Any) -> None:
    assert serialize(value) == _reference(value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(any_text, json_values, max_size=6))
def test_a_notebook_shaped_value_is_written_as_json_dumps_writes_it(metadata: Any) -> None:
    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": metadata, "outputs": [], "source": ["a\n", "b"]},
            {"cell_type": "markdown", "metadata": {}, "source": []},
            {"source": ["text", 1, None]},  # a list that starts with text but is not all text
        ],
        "metadata": metadata,
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    assert serialize(notebook) == _reference(notebook)


def test_keys_beyond_the_cache_are_still_written_right() -> None:
    many = {f"key-{index}": index for index in range(serialize_module._KEYS_MAX + 100)}
    assert serialize(many) == _reference(many)
    assert len(serialize_module._KEYS) <= serialize_module._KEYS_MAX
    assert serialize(many) == _reference(many)  # written again, from the cache where it holds
