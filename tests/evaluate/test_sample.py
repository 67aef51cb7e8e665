"""The bundled sample project and the demo's changes to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomlkit

from tests.evaluate.conftest import SampleRepo
from tests.evaluate.helpers import evaluate_in, sample_training
from torchlane.config.load import load_config
from torchlane.demo.quality import (
    SAMPLE_DIR,
    break_preprocessing,
    copy_sample_project,
    widen_model,
)
from torchlane.fingerprint import sha256_file
from torchlane.flow.init import init_repository
from torchlane.git import Git


def test_copy_keeps_existing_settings_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "mine"\n\n[tool.torchlane.branches]\ndevelop = "dev"\n', "utf-8"
    )
    (tmp_path / ".gitignore").write_text("*.log\n__pycache__/\n", "utf-8")
    copy_sample_project(tmp_path)
    data = tomlkit.parse((tmp_path / "pyproject.toml").read_text("utf-8"))
    assert data["project"]["name"] == "mine"
    config = load_config(tmp_path).config
    assert config.branches.develop == "dev"
    assert config.eval.model == "model:build_model"
    assert (tmp_path / ".gitignore").read_text("utf-8").splitlines() == [
        "*.log",
        "__pycache__/",
        "checkpoints/",
    ]


def test_copy_puts_eval_settings_next_to_torchlane_init_settings(tmp_path: Path) -> None:
    Git(tmp_path).run("init", "--quiet", "--initial-branch", "main")
    init_repository(tmp_path)
    before = load_config(tmp_path)
    copy_sample_project(tmp_path)
    after = load_config(tmp_path)
    assert after.path == before.path
    assert after.config.branches == before.config.branches
    assert after.config.eval.checkpoint_command == "python train.py"


@pytest.mark.slow
def test_training_is_deterministic(tmp_path: Path) -> None:
    copy_sample_project(tmp_path)
    with sample_training(tmp_path) as train:
        # Same file name: torch.save names the archive's folder after it.
        first = sha256_file(train(checkpoint=tmp_path / "a" / "model.pt", epochs=1))
        second = sha256_file(train(checkpoint=tmp_path / "b" / "model.pt", epochs=1))
        other_seed = sha256_file(train(checkpoint=tmp_path / "c" / "model.pt", epochs=1, seed=1))
    assert first == second
    assert other_seed != first


def test_the_demo_changes_edit_what_they_say(tmp_path: Path) -> None:
    copy_sample_project(tmp_path)
    assert widen_model(tmp_path) == ["model.py", "train.py"]
    assert "HIDDEN_UNITS = 64" in (tmp_path / "model.py").read_text("utf-8")
    assert "EPOCHS = 20" in (tmp_path / "train.py").read_text("utf-8")


def test_the_preprocessing_bug_breaks_the_model(sample_repo: SampleRepo, tmp_path: Path) -> None:
    good = evaluate_in(sample_repo.root, tmp_path)
    break_preprocessing(sample_repo.root)
    broken = evaluate_in(sample_repo.root, tmp_path)
    assert not broken.cached
    assert broken.metrics["accuracy"] < good.metrics["accuracy"] - 0.2
    assert broken.data_fingerprint == good.data_fingerprint  # same examples, so they pair
    assert broken.per_example.ids_fingerprint == good.per_example.ids_fingerprint


def test_a_missing_constant_is_reported(tmp_path: Path) -> None:
    copy_sample_project(tmp_path)
    (tmp_path / "data.py").write_text("SCALE = 16\n", "utf-8")
    with pytest.raises(RuntimeError, match=re.escape("data.py has no line `PIXEL_MAX = ...`")):
        break_preprocessing(tmp_path)


def test_training_leaves_torch_global_state_alone(trained_checkpoint: Path) -> None:
    import torch

    assert trained_checkpoint.exists()
    assert not torch.are_deterministic_algorithms_enabled()


def test_the_sample_passes_the_default_lint_stage(tmp_path: Path) -> None:
    # The lint stage runs the pinned ruff with the sample's own settings (none: ruff's
    # defaults), where its modules are first-party; the repository's ruff agrees (`src`).
    import subprocess
    import sys

    copy_sample_project(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_samples_dev_extra_pins_the_tools_torchlane_is_tested_with() -> None:
    # CI installs the sample with `pip install -e .[dev]`: its ruff and pytest are the pinned ones.
    sample = tomlkit.parse((SAMPLE_DIR / "pyproject.toml").read_text("utf-8"))
    constraints = (Path(__file__).resolve().parents[2] / "constraints.txt").read_text("utf-8")
    pinned = set(constraints.split())
    dev = list(sample["project"]["optional-dependencies"]["dev"])
    assert {d.split("==")[0] for d in dev} == {"ruff", "pytest"}
    assert set(dev) <= pinned, dev
