"""The note parser never crashes, keeps every valid record and names every bad line."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from torchlane.metrics.record import EvaluationRecord, PerExample
from torchlane.metrics.store import parse_note

COMMIT = "c" * 40
_numbers = st.floats(allow_nan=True, allow_infinity=True, width=32)
_records = st.builds(
    EvaluationRecord,
    commit=st.just(COMMIT),
    metrics=st.dictionaries(st.text("abcdefgh_", min_size=1, max_size=8), _numbers, max_size=4),
    created_at=st.text("0123456789-:T", max_size=20),
    per_example=st.none()
    | st.builds(
        PerExample,
        kind=st.just("correct"),
        values=st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=50).map(tuple),
        ids_fingerprint=st.text("0123456789abcdef", min_size=1, max_size=64),
    ),
)
# Text that stays on one line (no character str.splitlines breaks on) and is not blank.
_garbage = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"),
    min_size=1,
    max_size=80,
).filter(lambda s: s.strip() != "")


def _same(a: EvaluationRecord, b: EvaluationRecord) -> bool:
    if a.metrics.keys() != b.metrics.keys():
        return False
    for key, value in a.metrics.items():
        other = b.metrics[key]
        if not (value == other or (math.isnan(value) and math.isnan(other))):
            return False
    return a.per_example == b.per_example and a.created_at == b.created_at


@given(st.lists(st.one_of(_records, _garbage), max_size=12))
@settings(max_examples=60, deadline=None)
def test_valid_records_survive_and_every_bad_line_is_named(
    items: list[EvaluationRecord | str],
) -> None:
    lines = [i.to_line() if isinstance(i, EvaluationRecord) else i for i in items]
    result = parse_note(COMMIT, "\n".join(lines) + "\n")
    expected = [i for i in items if isinstance(i, EvaluationRecord)]
    bad_lines = [n for n, i in enumerate(items, 1) if not isinstance(i, EvaluationRecord)]
    assert {p.line for p in result.problems} <= set(bad_lines)  # valid lines are never blamed
    # A garbage line may by chance be a valid record of this commit: then it is a record.
    assert len(result.records) + len(result.problems) == len(items)
    for record in expected:
        assert any(_same(record, found) for found in result.records)
    assert all(p.commit == COMMIT for p in result.problems)
