"""Stripping semantics, options, bad input, and properties over generated notebooks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.notebooks import samples
from torchlane.notebooks.options import OptionError, StripOptions, options_from_argv, parse_size
from torchlane.notebooks.serialize import serialize
from torchlane.notebooks.strip import NotebookError, strip_bytes, strip_text


def _stripped(nb: dict[str, Any], **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(strip_text(samples.dump(nb), StripOptions(**options)))
    return result


def test_defaults_strip_outputs_counts_and_volatile_metadata() -> None:
    out = _stripped(samples.session_notebook())
    cells = out["cells"]
    assert [c["id"] for c in cells] == [str(i) for i in range(len(cells))]
    assert cells[1]["outputs"] == []
    assert cells[1]["execution_count"] is None
    assert cells[1]["metadata"] == {}  # ExecuteTime and scrolled gone
    assert cells[2]["metadata"] == {}  # collapsed and execution gone
    assert cells[5]["metadata"] == {"tags": ["parameters"]}  # heading_collapsed gone, tags kept
    assert "widgets" not in out["metadata"]
    assert "signature" not in out["metadata"]
    assert out["metadata"]["kernelspec"]["name"] == "python3"
    assert out["metadata"]["language_info"]["name"] == "python"


def test_keep_output_tag_and_metadata_keep_outputs_but_not_counts() -> None:
    cells = _stripped(samples.session_notebook())["cells"]
    tagged, flagged = cells[3], cells[4]
    assert tagged["outputs"][0]["data"]["image/png"] == samples.PNG
    assert flagged["outputs"][0]["ename"] == "ZeroDivisionError"
    assert tagged["execution_count"] is None
    assert "hidden" not in flagged["metadata"]
    assert flagged["metadata"]["keep_output"] is True


def test_contradicting_keep_output_is_an_error_not_a_guess() -> None:
    nb = samples.notebook([samples.code_cell("x", [samples.stream("1\n")])])
    nb["cells"][0]["metadata"] = {"keep_output": False, "tags": ["keep_output"]}
    with pytest.raises(NotebookError, match="keep_output"):
        strip_text(samples.dump(nb), StripOptions())


def test_options_change_what_is_kept() -> None:
    nb = samples.session_notebook()
    kept = _stripped(nb, keep_count=True, keep_id=True)["cells"]
    assert kept[1]["execution_count"] == 3
    assert kept[1]["id"] == "a1b2c3"
    dropped = _stripped(nb, drop_empty_cells=True)["cells"]
    assert len(dropped) == len(nb["cells"]) - 2
    assert [c["id"] for c in dropped] == [str(i) for i in range(len(dropped))]
    extra = _stripped(nb, extra_keys=("metadata.custom.drop", "cell.metadata.tags"))
    assert extra["metadata"]["custom"] == {"keep": True}
    assert all("tags" not in c["metadata"] for c in extra["cells"])
    # a keep_output tag still counts when tags are stripped: outputs are decided first
    assert extra["cells"][3]["outputs"]
    tagged = _stripped(nb, drop_tagged_cells=("parameters", "keep_output"))["cells"]
    assert len(tagged) == len(nb["cells"]) - 2  # both tags count (nbstripout honours only the last)
    small = _stripped(nb, max_size=20)["cells"]  # "hello\n" + "stdout" + "stream" = 18 characters
    assert [o["name"] for o in small[1]["outputs"]] == ["stdout"]


def test_dotted_keys_remove_a_key_spelled_with_its_dots_first_as_nbstripout_does() -> None:
    """`cell.metadata.collapsed` removes a cell's own key "metadata.collapsed" when it has one
    (and then leaves metadata.collapsed alone), else metadata's "collapsed"; a key with more
    dots goes as deep as it must."""
    nb = samples.session_notebook()
    spelled, plain, deep = nb["cells"][1], nb["cells"][2], nb["cells"][3]
    spelled["metadata.collapsed"] = True
    spelled["metadata"]["collapsed"] = True
    plain["metadata"]["collapsed"] = True
    deep["metadata"]["a"] = {"b": {"c": 1, "d": 2}, "b.c": 3}
    plain["metadata"]["a"] = {"b": {"c": 1, "d": 2}}
    cells = _stripped(nb, extra_keys=("cell.metadata.a.b.c",))["cells"]
    assert "metadata.collapsed" not in cells[1]
    assert cells[1]["metadata"]["collapsed"] is True
    assert "collapsed" not in cells[2]["metadata"]
    assert cells[3]["metadata"]["a"] == {"b": {"c": 1, "d": 2}}  # the key "b.c" went first
    assert cells[2]["metadata"]["a"] == {"b": {"d": 2}}


def test_argv_round_trip_and_bad_options() -> None:
    options = StripOptions(
        keep_count=True,
        keep_output=True,
        extra_keys=("metadata.a", "cell.metadata.b"),
        drop_output_types=("stream:stderr",),
        max_size=10_000,
    )
    parsed, rest = options_from_argv([*options.to_argv(), "--textconv", "x.ipynb"])
    assert parsed == options
    assert rest == ["--textconv", "x.ipynb"]
    assert parse_size("10K") == 10_000
    assert parse_size("2m") == 2_000_000
    with pytest.raises(OptionError):
        parse_size("ten")
    with pytest.raises(OptionError, match="metadata"):
        StripOptions(extra_keys=("outputs",))
    with pytest.raises(OptionError, match="needs a value"):
        options_from_argv(["--extra-keys"])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a byte-order mark, as nbstripout also refuses
        (b'["cells"]', "not a Jupyter notebook"),
        (b'{"cells": [], "nbformat": 3}', "nbformat 3"),
        (b'{"cells": [1], "nbformat": 4}', "cell 0"),
        (b'{"cells": [{"source": 5}], "nbformat": 4}', "source"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"cells": [], "nbformat": 4, "metadata": {"x": "\\ud800"}}', "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "deeply"),
        (
            b'{"cells": [], "nbformat": 4, "metadata": {"x": ' + b"[" * 990 + b"]" * 990 + b"}}",
            "deeply",
        ),
    ],
)
def test_bad_input_raises_notebook_error(content: bytes, reason: str) -> None:
    with pytest.raises(NotebookError, match=reason):
        strip_bytes(content, StripOptions())


def test_serialize_is_json_dumps_with_nbformat_settings() -> None:
    value = {
        "b": [1, 2.5, -0.0, 1e300, float("nan"), float("inf"), -float("inf"), True, None],
        "a": {"z": 'é\u2028\x00"\\', "": {}, "y": []},
        "cells": [],
    }
    expected = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert serialize(value) == expected


# --- properties over generated notebooks ---------------------------------------------------------

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
source = st.one_of(text, st.lists(text, max_size=4))
outputs = st.lists(
    st.one_of(
        st.builds(samples.stream, text, st.sampled_from(["stdout", "stderr"])),
        st.builds(samples.result, text, st.integers(0, 50)),
        st.builds(samples.error, text, text),
    ),
    max_size=3,
)
cell_metadata = st.fixed_dictionaries(
    {},
    optional={
        "tags": st.lists(st.sampled_from(["keep_output", "parameters", "x"]), max_size=2),
        "collapsed": st.booleans(),
        "scrolled": st.booleans(),
        "init_cell": st.booleans(),
        "custom": text,
    },
)


@st.composite
def notebooks(draw: st.DrawFn) -> dict[str, Any]:
    cells = []
    for index in range(draw(st.integers(0, 5))):
        metadata = draw(cell_metadata)
        if draw(st.booleans()):
            cell = samples.code_cell(
                draw(source), draw(outputs), draw(st.none() | st.integers(1, 9)), metadata
            )
        else:
            cell = samples.markdown_cell("", None, **metadata)
            cell["source"] = draw(source)
        if draw(st.booleans()):
            cell["id"] = f"id{index}"
        cells.append(cell)
    return samples.notebook(cells, draw(st.sampled_from([4, 5])))


def _joined_sources(nb: dict[str, Any]) -> list[str]:
    return [
        c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in nb["cells"]
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notebooks(), st.booleans(), st.booleans(), st.booleans())
def test_stripping_is_idempotent_and_keeps_sources(
    nb: dict[str, Any], keep_count: bool, keep_id: bool, drop_empty: bool
) -> None:
    options = StripOptions(keep_count=keep_count, keep_id=keep_id, drop_empty_cells=drop_empty)
    original = samples.dump(nb, indent=None)
    once = strip_text(original, options)
    assert strip_text(once, options) == once
    stripped = json.loads(once)
    expected = [s for s in _joined_sources(nb) if s.strip() or not drop_empty]
    assert _joined_sources(stripped) == expected
    for cell in stripped["cells"]:
        tags = cell["metadata"].get("tags", [])
        keeps = cell["metadata"].get("init_cell", "keep_output" in tags)
        if cell.get("outputs") and not keeps:
            pytest.fail(f"outputs kept in a cell without keep_output: {cell}")
