"""A small training project in a real git repository, with scripts that write outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

import torchlane
from torchlane.git import Git

# A seeded linear model on generated data: real PyTorch, small enough for a CPU test.
TORCH_TRAIN = """\
import json, os, sys
import torch
import torchlane

seed = int(os.environ["TORCHLANE_SEED"])
torchlane.seed_everything(seed)
out = os.environ["TORCHLANE_OUTPUT"]
LR = 0.05
x = torch.randn(256, 8)
y = x @ torch.arange(8.0) + 0.1 * torch.randn(256)
model = torch.nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=LR)
for _ in range(50):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x).squeeze(1), y)
    loss.backward()
    opt.step()
torch.save(model.state_dict(), os.path.join(out, "weights.pt"))
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"loss": loss.item(), "lr": LR}, f)
"""

# The same shape without torch, for tests about git and files rather than numerics. It reads an
# untracked data file and adds noise of 1e-9 when reproducing (like GPU reduction order would).
PLAIN_TRAIN = """\
import json, os, random

seed = int(os.environ["TORCHLANE_SEED"])
out = os.environ["TORCHLANE_OUTPUT"]
LR = 0.1
rng = random.Random(seed)
scale = float(open("data/scale.txt").read())
w = 0.0
for _ in range(100):
    x = rng.random()
    w -= LR * (w * x - scale * x) * x
with open(os.path.join(out, "model.txt"), "w") as f:
    f.write(repr(w))
noise = 1e-9 if os.environ.get("TORCHLANE_REPRODUCE") else 0.0
with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump({"w": w + noise, "steps": 100}, f)
"""


@pytest.fixture
def training_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Git:
    # The scripts import torchlane from another directory: make its path absolute.
    monkeypatch.setenv("PYTHONPATH", str(Path(torchlane.__file__).resolve().parents[1]))
    root = tmp_path / "project"
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "develop")
    (root / ".gitignore").write_text("outputs/\ndata/\n", encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.torchlane.repro]\ndata = ["data"]\n', encoding="utf-8"
    )
    (root / "configs").mkdir()
    (root / "configs" / "train.yaml").write_text("epochs: 1\n", encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "scale.txt").write_text("3.0\n", encoding="utf-8")
    (root / "train.py").write_text(TORCH_TRAIN, encoding="utf-8")
    (root / "plain.py").write_text(PLAIN_TRAIN, encoding="utf-8")
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "Training scripts")
    return git
