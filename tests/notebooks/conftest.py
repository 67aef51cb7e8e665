"""The filter runs in processes that git starts in the test repositories: make torchlane
importable there however the tests were started (PYTHONPATH=src is relative to the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import torchlane


@pytest.fixture(autouse=True)
def importable_torchlane(monkeypatch: pytest.MonkeyPatch) -> None:
    source = str(Path(torchlane.__file__).resolve().parent.parent)
    others = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([source, *others]))
