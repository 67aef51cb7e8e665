"""Tests of the secret scanner."""

from __future__ import annotations

import os
from pathlib import Path

import torchlane


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for `python -m torchlane` in a subprocess started in another directory:
    PYTHONPATH=src (as the suite is run) is relative, so make torchlane's location absolute."""
    source = str(Path(torchlane.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH", "")]))
    return {**os.environ, "PYTHONPATH": path, **extra}
