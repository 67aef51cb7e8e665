"""`.pre-commit-config.yaml`: this repository's own hooks, run from the project's environment."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from torchlane.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".pre-commit-config.yaml"
VENV_BIN = ".venv/bin/"


def local_hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in data["repos"]] == ["local"]  # offline: nothing to clone
    hooks: list[dict[str, Any]] = data["repos"][0]["hooks"]
    return hooks


def test_pre_commit_accepts_the_configuration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("hook", local_hooks(), ids=lambda h: h["id"])
def test_each_entry_runs_a_tool_the_environment_installs(hook: dict[str, Any]) -> None:
    words = shlex.split(hook["entry"])
    assert hook["language"] == "system"
    assert words[0].startswith(VENV_BIN), "hooks run the pinned tools from .venv"
    tool = words[0].removeprefix(VENV_BIN)
    # Under `make test` this interpreter is .venv/bin/python: the tools lie beside it.
    assert (Path(sys.executable).parent / tool).exists(), f"{tool} is not installed"
    if tool == "torchlane":
        assert words[1] in COMMANDS, f"`torchlane {words[1]}` is not a torchlane command"


def test_torchlane_hooks_match_the_manifest_offered_to_other_repositories() -> None:
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    offered = {hook["id"]: hook for hook in manifest}
    ours = [hook for hook in local_hooks() if hook["id"].startswith("torchlane-")]
    assert ours
    for hook in ours:
        assert hook["entry"].removeprefix(VENV_BIN) == offered[hook["id"]]["entry"]
        for key in ("files", "types", "pass_filenames", "stages"):
            assert hook.get(key) == offered[hook["id"]].get(key), (hook["id"], key)
