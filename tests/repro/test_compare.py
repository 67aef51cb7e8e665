"""Output comparison: hashes, and JSON metrics within a tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlane.repro.compare import compare_outputs, json_difference, verdict_of

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
metrics = st.recursive(
    st.one_of(finite, st.integers(-1000, 1000), st.text(max_size=5), st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.slow
@settings(deadline=None)  # a loaded 2-core CI machine has no timing to promise
@given(metrics)
def test_a_value_is_within_zero_tolerance_of_itself(value: object) -> None:
    assert json_difference(value, value, 0.0, 0.0)[0] is None


@settings(deadline=None)  # a loaded 2-core CI machine has no timing to promise
@given(finite, st.floats(min_value=1e-6, max_value=1e-2))
def test_relative_tolerance_follows_numpy_isclose(old: float, rtol: float) -> None:
    for new in (old * (1 + rtol / 2), old + 1.0):
        expected = bool(np.isclose(new, old, rtol=rtol, atol=0.0))
        assert (json_difference({"m": old}, {"m": new}, rtol, 0.0)[0] is None) == expected


def test_differences_are_located() -> None:
    old = {"val": {"acc": 0.91, "per_class": [0.9, 0.8]}, "name": "a"}
    assert json_difference(old, {**old, "name": "b"}, 1, 1)[0] == "name: 'a' -> 'b'"
    moved = {"val": {"acc": 0.91, "per_class": [0.9, 0.7]}, "name": "a"}
    assert json_difference(old, moved, 0, 0.05)[0] == "val.per_class[1]: 0.8 -> 0.7"
    assert json_difference(old, moved, 0, 0.2)[0] is None
    assert json_difference([1, 2], [1], 0, 0)[0] == "list: length 2 -> 1"
    assert json_difference(True, 1, 0, 0)[0] is None  # JSON true == 1 in Python: equal, not close
    assert json_difference(float("nan"), float("nan"), 0, 0)[0] is None


def test_compare_outputs_and_verdict(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "metrics.json").write_text(json.dumps({"loss": 0.1000001}))
    files = compare_outputs(
        {"out/w.pt": "a" * 64, "out/metrics.json": "b" * 64, "out/gone.txt": "c" * 64},
        {"out/w.pt": "a" * 64, "out/metrics.json": "d" * 64, "out/extra.txt": "e" * 64},
        recorded_metrics={"out/metrics.json": {"loss": 0.1}},
        new_root=tmp_path,
        rtol=1e-5,
        atol=0.0,
    )
    assert {f.path: f.status for f in files} == {
        "out/w.pt": "identical",
        "out/metrics.json": "within tolerance",
        "out/gone.txt": "missing",
        "out/extra.txt": "new",
    }
    assert verdict_of(files, same_exit_code=True) == "different"
    close = [f for f in files if f.status in ("identical", "within tolerance")]
    assert verdict_of(close, same_exit_code=True) == "within tolerance"
    same = [f for f in files if f.status == "identical"]
    assert verdict_of(same, same_exit_code=True) == "identical"
    assert verdict_of(same, same_exit_code=False) == "different"
