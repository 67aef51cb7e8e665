"""`.pre-commit-hooks.yaml`: the pre-commit framework's manifest for torchlane's hooks."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.secrets import cli_env
from torchlane.cli import COMMANDS

MANIFEST = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"
REQUIRED = {"id", "name", "entry", "language"}
KNOWN_KEYS = REQUIRED | {
    "description", "files", "exclude", "types", "types_or", "exclude_types", "pass_filenames",
    "always_run", "require_serial", "stages", "args", "minimum_pre_commit_version", "verbose",
}  # fmt: skip
STAGES = {"pre-commit", "pre-merge-commit", "pre-push", "commit-msg", "manual", "post-checkout"}


def hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_manifest_declares_the_four_hooks_with_required_keys() -> None:
    found = hooks()
    assert [h["id"] for h in found] == [
        "torchlane-nb-check",
        "torchlane-secrets",
        "torchlane-env-check",
        "torchlane-branch-name",
    ]
    for hook in found:
        assert set(hook) >= REQUIRED, hook["id"]
        assert set(hook) <= KNOWN_KEYS, hook["id"]
        assert hook["language"] == "python"
        assert set(hook.get("stages", [])) <= STAGES
    by_id = {h["id"]: h for h in found}
    assert by_id["torchlane-nb-check"]["types"] == ["jupyter"]
    assert by_id["torchlane-branch-name"]["pass_filenames"] is False
    assert by_id["torchlane-branch-name"]["stages"] == ["pre-push"]


@pytest.mark.parametrize(
    ("path", "matches"),
    [("Dockerfile", True), ("ci/compose.gpu.yml", True), ("uv.lock", True), ("train.py", False)],
)
def test_env_check_files_pattern(path: str, matches: bool) -> None:
    (env_hook,) = [h for h in hooks() if h["id"] == "torchlane-env-check"]
    assert bool(re.search(env_hook["files"], path)) is matches


def _argv(entry: str) -> list[str]:
    words = shlex.split(entry)
    if words[0] == "torchlane":
        return [sys.executable, "-m", "torchlane", *words[1:]]
    assert words[0] == "python"
    return [sys.executable, *words[1:]]


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h["id"])
def test_each_entry_is_a_real_command(hook: dict[str, Any], tmp_path: Path) -> None:
    words = shlex.split(hook["entry"])
    if words[0] == "torchlane":
        assert words[1] in COMMANDS, f"`torchlane {words[1]}` is not a torchlane command"
    if hook["id"] == "torchlane-branch-name":  # no stdin, no framework variables: nothing to do
        result = subprocess.run(
            _argv(hook["entry"]),
            input="",
            capture_output=True,
            text=True,
            env=cli_env(),
            check=False,
        )
    else:
        result = subprocess.run(
            [*_argv(hook["entry"]), "--help"],
            capture_output=True,
            text=True,
            env=cli_env(),
            check=False,
        )
    assert result.returncode == 0, result.stderr
