"""`torchlane model export`: artefacts checked against the eager model, stored by digest."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, Project, commit_file
from tests.models.conftest import DATA, release
from torchlane.fingerprint import sha256_file

pytestmark = pytest.mark.slow

BRANCHING_MODEL = """\
import torch


class Flip(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x):
        y = self.linear(x)
        return y if float(x.mean()) > 0 else -y


def build_model():
    return Flip()
"""

# The models' shared validation data, shifted so the first batch lies on one side of the model's
# branch and the rest on the other.
SHIFTED_DATA = DATA.replace(
    "    x, y = examples(1, 96)\n",
    "    x, y = examples(1, 96)\n    x[:64] += 3.0\n    x[64:] -= 3.0\n",
)
assert SHIFTED_DATA != DATA


def _released(cli, project: Project) -> dict[str, Any]:
    finished = release(cli, project, "v1.0.0")
    assert finished.code == 0, finished.err
    assert cli(["model", "push"], cwd=project.root).code == 0
    return json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=project.root).out)


def _export(cli, project: Project, fmt: str) -> CliResult:
    return cli(["model", "export", "v1.0.0", "--format", fmt, "--json"], cwd=project.root)


def test_torchscript_and_torch_export_are_checked_and_stored_beside_the_checkpoint(
    model_project: Project, cli, tmp_path: Path
) -> None:
    import torch

    binding = _released(cli, model_project)
    digest = binding["digest"]
    scripted = _export(cli, model_project, "torchscript")
    assert scripted.code == 0, scripted.err
    result = json.loads(scripted.out)
    stored = tmp_path / "store" / "sha256" / f"{digest}.exports" / "torchscript.pt"
    assert result["location"] == str(stored)
    assert sha256_file(stored) == result["sha256"]
    assert result["max_abs_diff"] <= 1e-5
    assert result["batches"] == 2
    assert result["uploaded"] is True
    assert any("deprecated" in w for w in result["warnings"])  # torch.jit, said out loud
    again = json.loads(_export(cli, model_project, "torchscript").out)
    assert again["uploaded"] is False

    exported = _export(cli, model_project, "export")
    assert exported.code == 0, exported.err
    pt2 = tmp_path / "store" / "sha256" / f"{digest}.exports" / "exported.pt2"
    module = torch.export.load(str(pt2)).module()
    weights = torch.load(model_project.root / "checkpoints" / "model.pt", weights_only=True)
    eager = torch.nn.Linear(4, 3)
    eager.load_state_dict(weights)
    x = torch.randn(5, 4)
    assert torch.allclose(module(x), eager(x), atol=1e-6)


def test_an_export_that_does_not_match_the_eager_model_fails_and_stores_nothing(
    model_project: Project, cli, tmp_path: Path
) -> None:
    git = model_project.git
    commit_file(git, "model.py", BRANCHING_MODEL, "A model that branches on its input")
    commit_file(git, "data.py", SHIFTED_DATA, "Validation data on both sides")
    binding = _released(cli, model_project)
    failed = _export(cli, model_project, "torchscript")
    assert failed.code == 1
    assert "does not match the eager model" in failed.err
    assert "Nothing was stored" in failed.err
    assert not (tmp_path / "store" / "sha256" / f"{binding['digest']}.exports").exists()
    refused = _export(cli, model_project, "export")
    assert refused.code == 1
    assert "exporter could not export" in refused.err


def test_onnx_without_its_packages_is_one_clear_message(model_project: Project, cli) -> None:
    if all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime")):
        pytest.skip("onnx, onnxscript and onnxruntime are installed: the message cannot show")
    _released(cli, model_project)
    refused = _export(cli, model_project, "onnx")
    assert refused.code == 1
    assert "ONNX export needs the" in refused.err
    assert "pip install onnx onnxscript onnxruntime" in refused.err


def _require_exports(project: Project, formats: str) -> None:
    pyproject = project.root / "pyproject.toml"
    text = pyproject.read_text("utf-8").replace(
        "[tool.torchlane.models]\n", f"[tool.torchlane.models]\nexports = {formats}\n"
    )
    commit_file(project.git, "pyproject.toml", text, "Releases must export")


def test_finish_checks_the_declared_exports_and_push_stores_them(
    model_project: Project, cli, tmp_path: Path
) -> None:
    _require_exports(model_project, '["export"]')
    binding = _released(cli, model_project)
    made = tmp_path / "store" / "sha256" / f"{binding['digest']}.exports" / "exported.pt2"
    assert sha256_file(made) == binding["exports"]["export"]


def test_a_release_whose_export_does_not_match_is_refused(model_project: Project, cli) -> None:
    git = model_project.git
    commit_file(git, "model.py", BRANCHING_MODEL, "A model that branches on its input")
    commit_file(git, "data.py", SHIFTED_DATA, "Validation data on both sides")
    _require_exports(model_project, '["torchscript"]')
    refused = release(cli, model_project, "v1.0.0")
    assert refused.code == 1
    assert "fails the release check of [tool.torchlane.models] exports" in refused.err
    assert "does not match the eager model" in refused.err
    assert git.rev("refs/tags/v1.0.0") is None
