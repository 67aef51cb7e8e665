"""A tiny PyTorch project with the branch model, a bare origin, and releases made the way a team
makes them: `torchlane run` trains, `torchlane eval` records, `torchlane finish` tags and binds."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import torchlane
from tests.conftest import CliResult, Project, commit_file, commit_pyproject
from torchlane.git import Git

MODEL = """\
import torch


def build_model():
    return torch.nn.Linear(4, 3)
"""

DATA = """\
import torch
from torch.utils.data import DataLoader, TensorDataset


def examples(seed, count):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 4, generator=generator)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return x, y


def validation_loader(batch_size=64):
    x, y = examples(1, 96)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)
"""

METRICS = """\
def accuracy(outputs, targets):
    return float((outputs.argmax(dim=1) == targets).float().mean())
"""

TRAIN = """\
import os
import torch
from data import examples
from model import build_model

seed = int(os.environ.get("TORCHLANE_SEED", "0"))
steps = int(open("steps.txt").read())
torch.manual_seed(seed)
model = build_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
x, y = examples(0, 256)
for _ in range(steps):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
os.makedirs("checkpoints", exist_ok=True)
torch.save(model.state_dict(), "checkpoints/model.pt")
"""

SETTINGS = """
[tool.torchlane.eval]
model = "model:build_model"
data = "data:validation_loader"
metrics = { accuracy = "metrics:accuracy" }
checkpoint = "checkpoints/model.pt"
device = "cpu"
batch_size = 64

[tool.torchlane.models]
store = "{store}"
"""


@pytest.fixture
def model_project(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The project of tests/conftest.py with the tiny model committed on develop; its model
    store is a shared directory (tmp_path/store)."""
    # `torchlane run` starts the training script, which needs no torchlane, but reproduce and
    # the CLI in subprocesses import this checkout's torchlane.
    monkeypatch.setenv("PYTHONPATH", str(Path(torchlane.__file__).resolve().parents[1]))
    git = project.git
    for name, text in {"model.py": MODEL, "data.py": DATA, "metrics.py": METRICS,
                       "train.py": TRAIN, "steps.txt": "30\n"}.items():  # fmt: skip
        (project.root / name).write_text(text, encoding="utf-8")
    ignore = project.root / ".gitignore"
    existing = ignore.read_text("utf-8") if ignore.exists() else ""
    ignore.write_text(existing + "checkpoints/\n__pycache__/\n", encoding="utf-8")
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "A tiny classifier")
    commit_pyproject(project, SETTINGS.replace("{store}", str(tmp_path / "store")))
    git.run("push", "--quiet", "origin", "develop")
    return project


Cli = Callable[..., CliResult]


def train_and_evaluate(cli: Cli, root: Path) -> None:
    """`torchlane run` the training (recorded), then `torchlane eval` (recorded)."""
    done = cli(["run", "--seed", "7", "--output", "checkpoints", "--", sys.executable, "train.py"],
               cwd=root)  # fmt: skip
    assert done.code == 0, done.err
    evaluated = cli(["eval"], cwd=root)
    assert evaluated.code == 0, evaluated.err


def release(cli: Cli, project: Project, version: str, *, steps: int | None = None) -> CliResult:
    """Start release/<version>, optionally change the training, train, evaluate, finish."""
    git: Git = project.git
    started = cli(["start", "release", version], cwd=project.root)
    assert started.code == 0, started.err
    if steps is not None:
        commit_file(git, "steps.txt", f"{steps}\n", f"Train for {steps} steps")
    train_and_evaluate(cli, project.root)
    return cli(["finish", f"release/{version}"], cwd=project.root)
