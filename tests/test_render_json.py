"""`--json` output: the same document whether orjson renders it or json does."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from torchlane import render

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(documents)
def test_the_same_document_as_json_and_always_ascii(data: Any) -> None:
    text = render.to_json(data)
    assert json.loads(text) == json.loads(json.dumps(data))
    assert text.isascii()


def test_indented_like_json_where_numbers_are_spelled_alike() -> None:
    data = {"name": "feature/x", "ahead": 3, "files": ["a.py"], "empty": {}, "none": []}
    assert render.to_json(data) == json.dumps(data, indent=2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_as_json_refuses_them(bad: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        render.to_json({"metrics": [1.0, bad]})
