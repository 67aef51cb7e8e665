"""A trained digits checkpoint shared by the session, and sample projects built around it."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.evaluate.helpers import FETCH_SCRIPT, sample_training, write_eval_config
from torchlane.demo.quality import copy_sample_project
from torchlane.git import Git


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample trained once, in-process (a subprocess would pay torch's import again)."""
    folder = tmp_path_factory.mktemp("trained")
    copy_sample_project(folder)
    checkpoint = folder / "checkpoints" / "model.pt"
    with sample_training(folder) as train:
        train(checkpoint=checkpoint, epochs=4)
    return checkpoint


@dataclass
class SampleRepo:
    git: Git
    checkpoint: Path

    @property
    def root(self) -> Path:
        return self.git.cwd


@pytest.fixture
def sample_repo(tmp_path: Path, trained_checkpoint: Path) -> SampleRepo:
    """A committed sample project whose checkpoint command 'downloads' the trained weights."""
    root = tmp_path / "digits"
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "main")
    copy_sample_project(root)
    (root / "fetch.py").write_text(FETCH_SCRIPT.format(source=str(trained_checkpoint)), "utf-8")
    write_eval_config(root, checkpoint_command=[sys.executable, "fetch.py"])
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "Add the digits classifier")
    return SampleRepo(git, root / "checkpoints" / "model.pt")


@pytest.fixture
def place_checkpoint(trained_checkpoint: Path) -> Callable[[Path], Path]:
    def place(root: Path) -> Path:
        target = root / "checkpoints" / "model.pt"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(trained_checkpoint, target)
        return target

    return place
