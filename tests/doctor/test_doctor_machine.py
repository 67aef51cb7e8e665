"""The doctor on this real machine: a CPU build of torch, no NVIDIA driver, nvcc maybe on PATH."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from torchlane.doctor.probe import probe_machine
from torchlane.git import Git


def test_probe_reports_what_torch_loaded() -> None:
    facts = probe_machine()
    assert facts.torch == torch.__version__
    assert facts.cuda_runtime == torch.version.cuda
    assert facts.cuda_available == torch.cuda.is_available()
    assert facts.packages["torch"] == torch.__version__
    if shutil.which("nvcc") and torch.version.cuda is None:
        # The collect_env trap: nvcc on PATH is a toolkit, not the runtime torch uses.
        assert facts.nvcc is not None
        assert facts.cuda_runtime is None


def _project(root: Path, env_table: str, lock: str | None) -> None:
    Git(root).run("init", "--quiet")
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n\n[tool.torchlane.env]\n{env_table}', encoding="utf-8"
    )
    if lock is not None:
        (root / "requirements.lock").write_text(lock, encoding="utf-8")


def test_doctor_json_on_this_machine_matches_its_exit_code(cli, tmp_path: Path) -> None:
    python = ".".join(map(str, sys.version_info[:2]))
    torch_public = torch.__version__.split("+")[0]
    accelerator = f"cuda{torch.version.cuda}" if torch.version.cuda else "cpu"
    _project(
        tmp_path,
        f'python = "{python}"\ntorch = "{torch_public}"\naccelerator = "{accelerator}"\n',
        f"torch=={torch_public}\n",
    )
    result = cli(["doctor", "--json", "-C", str(tmp_path)])
    report = json.loads(result.out)
    statuses = {f["check"]: f["status"] for f in report["findings"]}
    assert statuses["python"] == "ok"
    assert statuses["torch build"] == "ok"
    assert statuses["packages"] == "ok"
    assert report["lock"] == "requirements.lock"
    assert report["machine"]["torch"] == torch.__version__
    assert report["machine"]["cuda_runtime"] == torch.version.cuda
    assert result.code == (0 if report["errors"] == 0 else 1)


@pytest.mark.skipif(torch.version.cuda is not None, reason="needs a CPU build of torch")
def test_doctor_fails_on_a_declared_gpu_this_cpu_machine_lacks(cli, tmp_path: Path) -> None:
    _project(tmp_path, 'accelerator = "cuda12.8"\n', "surely-not-installed-pkg==1.0\n")
    result = cli(["doctor", "-C", str(tmp_path)])
    assert result.code == 1
    assert "CPU-only" in result.out
    assert "surely-not-installed-pkg" in result.out
    assert "error(s)" in result.err
    table = cli(["doctor", "--json", "-C", str(tmp_path)])
    assert table.code == 1
    assert json.loads(table.out)["errors"] >= 2


def test_doctor_without_a_declaration_reports_facts(cli, tmp_path: Path) -> None:
    Git(tmp_path).run("init", "--quiet")
    result = cli(["doctor", "--json", "-C", str(tmp_path)])
    report = json.loads(result.out)
    assert report["config"] is None
    statuses = {f["check"]: f["status"] for f in report["findings"]}
    assert statuses["declaration"] == "info"
    assert statuses["python"] == "info"
    assert result.code == (0 if report["errors"] == 0 else 1)
