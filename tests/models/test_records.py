"""The binding's JSON line, the store's names and the settings: parsers and validators."""

from __future__ import annotations

import json
import math
import string
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.documented import config_keys, documented_keys
from torchlane.errors import TorchlaneError
from torchlane.models.binding import ModelBinding, TrainingRun, parse_bindings
from torchlane.models.settings import ModelsConfig
from torchlane.models.store import ModelStore, is_url

hexdigest = st.text("0123456789abcdef", min_size=64, max_size=64)
names = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=20)
numbers = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def bindings(draw: st.DrawFn) -> ModelBinding:
    no_model = draw(st.booleans())
    run = draw(
        st.none()
        | st.builds(
            TrainingRun, run_id=names, commit=hexdigest.map(lambda d: d[:40]),
            command=st.lists(names, max_size=3), seed=st.integers(0, 2**32 - 1), output=names,
        )
    )  # fmt: skip
    return ModelBinding(
        tag=draw(names),
        commit=draw(hexdigest.map(lambda d: d[:40])),
        evaluated_commit=draw(hexdigest.map(lambda d: d[:40])),
        no_model=no_model,
        digest=None if no_model else draw(hexdigest),
        weights_digest=None if no_model else draw(hexdigest),
        size=None if no_model else draw(st.integers(0, 2**40)),
        checkpoint_path=None if no_model else draw(names),
        metrics=draw(st.dictionaries(names, numbers, max_size=4)),
        data_fingerprint=draw(st.none() | hexdigest),
        environment=draw(st.dictionaries(names, st.none() | names, max_size=3)),
        run=run,
        created_at=draw(names),
    )


def _same_metrics(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a
    )


@given(bindings())
def test_a_binding_survives_its_note_line(binding: ModelBinding) -> None:
    [back] = parse_bindings(binding.commit, binding.to_line())
    assert _same_metrics(back.metrics, binding.metrics)
    assert {**back.__dict__, "metrics": None} == {**binding.__dict__, "metrics": None}


@given(st.text(max_size=300))
def test_any_note_text_parses_without_raising(text: str) -> None:
    assert all(b.commit == "c" * 40 for b in parse_bindings("c" * 40, text))


@given(bindings())
def test_a_copied_note_is_not_read_as_this_commits_binding(binding: ModelBinding) -> None:
    assume(binding.commit != "0" * 40)
    assert parse_bindings("0" * 40, binding.to_line()) == []


def test_a_digest_that_is_not_a_sha256_is_refused() -> None:
    line = json.dumps({"kind": "torchlane-model", "tag": "v1", "commit": "c" * 40,
                       "digest": "../../etc/passwd"})  # fmt: skip
    assert parse_bindings("c" * 40, line) == []
    store = ModelStore("store", Path("/nonexistent"))
    with pytest.raises(TorchlaneError, match="not a sha256 digest"):
        store.location("../../etc/passwd")


@pytest.mark.parametrize(
    ("spec", "url"),
    [("s3://bucket/models", True), ("memory://x", True), ("/mnt/models", False),
     ("models", False), ("file:///mnt/models", False), ("C:\\models", False)],
)  # fmt: skip
def test_which_stores_are_urls(spec: str, url: bool) -> None:
    assert is_url(spec) is url


def test_every_models_setting_is_documented() -> None:
    assert set(config_keys(ModelsConfig)) == documented_keys("models.md", "## The model store")


def test_an_empty_store_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="the store is empty"):
        ModelsConfig(store="  ")
