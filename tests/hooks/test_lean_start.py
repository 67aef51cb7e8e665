"""The git hooks' warm paths run without pydantic, click or rich.

The import contract in pyproject.toml ([tool.importlinter]) forbids these imports on the hook
modules but ignores the lazy edge taken on a settings-snapshot miss; this runs each hook a second
time (snapshot warm) in a fresh interpreter and looks at what it actually imported.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Project, commit_file

HEAVY = ("pydantic", "click", "rich")

PROBE = f"""
import runpy, sys
sys.argv = [sys.argv[1], "--hook", ".git/hooks/none", *sys.argv[2:]]
try:
    runpy.run_module(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    print("exit", stop.code, file=sys.stderr)
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print("loaded:", " ".join(heavy))
"""


def run_hook(project: Project, module: str, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, *args],
        cwd=project.root,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("loaded:"), result.stdout + result.stderr
    return last.removeprefix("loaded:").strip()


def test_pre_commit_on_a_warm_cache(project: Project) -> None:
    (project.root / "train.py").write_text("print('hello')\n", encoding="utf-8")
    project.git.run("add", "train.py")
    run_hook(project, "torchlane.hooks.precommit")  # fills the settings snapshot
    assert run_hook(project, "torchlane.hooks.precommit") == ""


def test_pre_push_on_a_warm_cache(project: Project) -> None:
    project.git.run("switch", "--quiet", "-c", "feature/add-mixup")
    tip = commit_file(project.git, "train.py", "print('mixup')\n")
    update = f"refs/heads/feature/add-mixup {tip} refs/heads/feature/add-mixup {'0' * 40}\n"
    args = ("torchlane.hooks.prepush", "origin", str(project.origin))
    run_hook(project, *args, stdin=update)
    assert run_hook(project, *args, stdin=update) == ""
