"""The pre-commit hook replays a pass only while nothing the pass depends on has changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Project
from torchlane.hooks.verdict import CACHE_NAME

HF = "hf_" + "QmZxWvUtSrQpOnMlKjIhGfEdCbAzYxWvUt"
ENTRY = "import sys; from torchlane.hooks.precommit import main; sys.exit(main())"


def _age(project: Project) -> None:
    """Move every file the verdict watches a second into the past: a signature taken within the
    racy window of a write is not trusted, and these tests write and run within milliseconds."""
    past = time.time() - 5
    git_dir = project.root / ".git"
    for path in [git_dir / "index", git_dir / "HEAD", *(git_dir / "refs" / "heads").rglob("*"),
                 project.root / ".torchlane.toml", project.root / "pyproject.toml"]:  # fmt: skip
        if path.is_file():
            os.utime(path, (past, past))


def _hook(project: Project, trace: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("GIT_INDEX_FILE", None)
    if trace is not None:
        env["GIT_TRACE2_EVENT"] = str(trace)
    return subprocess.run(
        [sys.executable, "-c", ENTRY, "--hook", ".git/hooks/pre-commit"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _git_commands(trace: Path) -> list[str]:
    if not trace.exists():
        return []
    events = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    return [" ".join(e["argv"][1:3]) for e in events if e.get("event") == "start"]


def _stage(project: Project, name: str, text: str) -> None:
    (project.root / name).write_text(text, encoding="utf-8")
    project.git.run("add", "--", name)


def test_a_pass_is_replayed_without_git_and_still_checks_the_environment(
    project: Project, tmp_path: Path
) -> None:
    _stage(project, "requirements.txt", "torch==2.3.1\nnumpy==1.26.4\n")
    _age(project)
    first_trace, second_trace = tmp_path / "first.json", tmp_path / "second.json"
    first = _hook(project, first_trace)
    assert first.returncode == 0, first.stderr
    assert "diff --cached" in _git_commands(first_trace)
    assert (project.root / ".git" / "torchlane" / CACHE_NAME).is_file()
    second = _hook(project, second_trace)
    assert second.returncode == 0, second.stderr
    assert _git_commands(second_trace) == []  # nothing listed, nothing read, nothing scanned
    assert second.stdout == first.stdout  # the environment check ran (replaying its own cache)
    assert "requirements.txt" in second.stdout or "1 file" in second.stdout


def test_staging_a_secret_after_a_pass_is_refused(project: Project) -> None:
    _stage(project, "train.py", "login()\n")
    _age(project)
    assert _hook(project).returncode == 0
    _stage(project, "train.py", f'login(token="{HF}")\n')
    _age(project)  # even with old timestamps the index is a new file (size, inode)
    refused = _hook(project)
    assert refused.returncode == 1
    assert "commit refused (secrets)" in refused.stderr


def test_a_refusal_is_never_kept(project: Project) -> None:
    _stage(project, "train.py", f'login(token="{HF}")\n')
    _age(project)
    assert _hook(project).returncode == 1
    assert not (project.root / ".git" / "torchlane" / CACHE_NAME).exists()
    assert _hook(project).returncode == 1


def test_changed_settings_invalidate_a_pass(project: Project) -> None:
    settings = project.root / ".torchlane.toml"
    original = settings.read_text(encoding="utf-8")
    settings.write_text(original + "\n[hooks]\nscan_secrets = false\n", encoding="utf-8")
    _stage(project, "train.py", f'login(token="{HF}")\n')
    _age(project)
    assert _hook(project).returncode == 0  # scanning is off: a pass, kept
    settings.write_text(original + "\n[hooks]\nscan_secrets = true\n", encoding="utf-8")
    _age(project)
    refused = _hook(project)
    assert refused.returncode == 1
    assert "commit refused (secrets)" in refused.stderr


def test_a_pass_taken_within_the_racy_window_of_a_write_is_not_kept(project: Project) -> None:
    _stage(project, "train.py", "login()\n")
    _age(project)
    # The index written at the moment the hook starts (a timestamp not yet in the past): the
    # same tick could hold another write with the same signature, so the pass is not trusted.
    soon = time.time() + 2
    os.utime(project.root / ".git" / "index", (soon, soon))
    assert _hook(project).returncode == 0
    assert not (project.root / ".git" / "torchlane" / CACHE_NAME).exists()
