"""[tool.torchlane.repro] in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchlane.config.load import load_config
from torchlane.errors import TorchlaneError


def test_defaults_and_overrides(tmp_path: Path) -> None:
    assert load_config(tmp_path).config.repro.output_dir == "outputs"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.repro]\ndata = ["data/train"]\noutput_dir = "runs"\ndeterministic = false\n',
        encoding="utf-8",
    )
    repro = load_config(tmp_path).config.repro
    assert repro.data == ("data/train",)
    assert repro.output_dir == "runs"
    assert repro.deterministic is False
    assert repro.notes_ref == "refs/notes/torchlane-runs"


def test_misspelt_key_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.repro]\noutput_dirs = "runs"\n', encoding="utf-8"
    )
    with pytest.raises(TorchlaneError) as error:
        load_config(tmp_path)
    assert "pyproject.toml: [tool.torchlane.repro] output_dirs: unknown key" in error.value.message
    assert "output_dir" in (error.value.hint or "")
