"""Helpers for the environment tests: a real git repository and the check's JSON result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import torchlane
from torchlane.git import Git

# The package's own location, so that subprocesses started in another directory import it.
SRC = str(Path(torchlane.__file__).resolve().parents[1])


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, env.get("PYTHONPATH")]))
    return env


def unmeasured_env() -> dict[str, str]:
    """subprocess_env() without coverage: its start-up in a measured subprocess imports modules
    (tomllib) that tests looking at what torchlane imports must not see."""
    env = subprocess_env()
    for name in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START"):
        env.pop(name, None)
    return env


class Repo:
    def __init__(self, root: Path):
        self.root = root
        self.git = Git(root)

    def write(self, path: str, content: str) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        return target

    def commit(self, message: str = "change", date: str | None = None, **files: str) -> None:
        for path, content in files.items():
            self.write(path.replace("__", "/"), content)
        self.git.run("add", "-A")
        dates = {"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date} if date else None
        self.git.run("commit", "--quiet", "--allow-empty", "-m", message, env=dates)

    def check(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run `python -m torchlane env check --json` as a hook would; (exit code, result)."""
        proc = subprocess.run(
            [sys.executable, "-m", "torchlane", "env", "check", "--json", *args],
            cwd=self.root, capture_output=True, text=True, check=False, env=subprocess_env(),
        )  # fmt: skip
        assert proc.stdout, proc.stderr
        return proc.returncode, json.loads(proc.stdout)

    def rules(self, *args: str) -> dict[str, list[dict[str, Any]]]:
        result: dict[str, list[dict[str, Any]]] = {}
        for finding in self.check(*args)[1]["findings"]:
            result.setdefault(finding["rule"], []).append(finding)
        return result


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "work"
    root.mkdir()
    Git(root).run("init", "--quiet", "--initial-branch", "main")
    return Repo(root)
