"""A run note is shared: `run` never copies a secret into it unasked, and `reproduce` shows the
note's command and asks before executing it."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from torchlane.git import Git
from torchlane.repro.manifest import MANIFEST_NAME, RunManifest
from torchlane.repro.reproduce import preview

PY = sys.executable
SECRET = "Zx9Qw3Er7Ty1Ui5Op2"  # torchlane: allow-secret
NOTES = "refs/notes/torchlane-runs"
WRITE = (
    "import os; open(os.path.join(os.environ['TORCHLANE_OUTPUT'], 'ran.txt'), 'w')"
    ".write(str(os.environ.get('INJECTED')))"
)


def note_text(git: Git) -> str:
    return git.run("log", "-p", NOTES).stdout if git.ref_value(NOTES) else ""


@pytest.mark.slow  # the run imports torch for the environment fingerprint
def test_a_secret_in_the_uncommitted_changes_refuses_the_run(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    script = root / "plain.py"
    script.write_text(f'API_TOKEN = "{SECRET}"\n' + script.read_text(), encoding="utf-8")
    refused = cli(["run", "--", PY, "plain.py"], cwd=root)
    assert refused.code == 1
    assert "The run note would copy 1 secret(s)" in refused.err
    assert "plain.py:1:14 (generic-secret)" in refused.err
    assert "--allow-secrets" in refused.err
    assert SECRET not in refused.err
    assert training_repo.ref_value(NOTES) is None  # nothing ran, nothing was written
    assert not (root / "outputs").exists()
    allowed = cli(["run", "--allow-secrets", "--", PY, "plain.py"], cwd=root)
    assert allowed.code == 0, allowed.err
    assert "recorded secret(s) into the run note (--allow-secrets): plain.py:1:14" in allowed.err
    assert SECRET in note_text(training_repo)


def test_a_secret_on_the_command_line_refuses_the_run(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    refused = cli(["run", "--", PY, "-c", WRITE, f"--api-token={SECRET}"], cwd=root)
    assert refused.code == 1
    assert "command line:4:" in refused.err  # the fourth argument
    assert training_repo.ref_value(NOTES) is None


def test_a_secret_in_a_json_output_is_kept_out_of_the_note(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    leak = (
        "import json, os; out = os.environ['TORCHLANE_OUTPUT']\n"
        "json.dump({'loss': 0.5}, open(os.path.join(out, 'metrics.json'), 'w'))\n"
        f"json.dump({{'wandb': {{'api_token': '{SECRET[:6]}' + '{SECRET[6:]}'}}}}, "
        "open(os.path.join(out, 'config.json'), 'w'))\n"
    )
    result = cli(["run", "--json", "--", PY, "-c", leak], cwd=root)
    assert result.code == 0, result.err
    manifest = json.loads(result.out)
    assert "warning: outputs/config.json holds a secret" in result.err
    assert set(manifest["metrics"]) == {"outputs/metrics.json"}
    assert "outputs/config.json" in manifest["outputs"]  # its hash is still recorded
    assert SECRET not in note_text(training_repo)
    assert SECRET not in (root / "outputs" / MANIFEST_NAME).read_text(encoding="utf-8")
    kept = cli(["run", "--json", "--allow-secrets", "--", PY, "-c", leak], cwd=root)
    assert set(json.loads(kept.out)["metrics"]) == {"outputs/metrics.json", "outputs/config.json"}


def recorded(cli, root: Path, **changes: Any) -> Path:
    result = cli(["run", "--json", "--seed", "1", "--", PY, "-c", WRITE], cwd=root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    data.update(changes)
    path = root / "shared-run.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_reproduce_shows_the_command_and_refuses_without_a_terminal_or_yes(
    cli, training_repo: Git
) -> None:
    root = training_repo.cwd
    note = recorded(cli, root)
    (root / "outputs" / "ran.txt").unlink()
    refused = cli(["reproduce", str(note)], cwd=root)
    assert refused.code == 1
    assert "executes, at commit" in refused.err
    assert "TORCHLANE_OUTPUT" in refused.err  # the command itself
    assert "Not running run" in refused.err
    assert "run again with --yes" in refused.err
    assert not (root / "outputs" / "ran.txt").exists()
    assert training_repo.run("worktree", "list").stdout.count("\n") == 1  # none was made


def test_a_hostile_note_is_shown_escaped_and_cannot_set_the_environment(
    cli, training_repo: Git
) -> None:
    root = training_repo.cwd
    variables = {"TORCHLANE_SEED": "1", "PYTHONHASHSEED": "1", "INJECTED": "yes"}
    command = [PY, "-c", WRITE + "  # \x1b[2K\x1b[1Alooks harmless"]
    note = recorded(cli, root, variables=variables, command=command)
    shown = cli(["reproduce", str(note)], cwd=root)
    assert "\x1b" not in shown.err
    assert "\\x1b[2K\\x1b[1A" in shown.err
    assert "(the note also sets INJECTED: not a run setting, ignored)" in shown.err
    ran = cli(["reproduce", "--yes", "--keep", "--json", str(note)], cwd=root)
    tree = Path(json.loads(ran.out)["worktree"])
    assert (tree / "outputs" / "ran.txt").read_text(encoding="utf-8") == "None"
    training_repo.remove_worktree(tree)


def test_preview_lists_the_files_the_patch_changes() -> None:
    patch = (
        "diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-a\n+b\n"
        "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n"
    )
    manifest = RunManifest(
        run_id="r", started="", commit="c" * 40, branch=None, patch=patch, patch_sha256=None,
        untracked=[], environment={}, seed=1, command=["python", "train.py", "--lr", "0.1 0.2"],
        cwd="src", variables={"TORCHLANE_SEED": "1"}, config_files={}, data={},
        output_dirs=["outputs"], outputs={}, exit_code=0, duration_s=0.0,
    )  # fmt: skip
    lines = preview(manifest).lines()
    assert lines[1] == "  cd src && python train.py --lr '0.1 0.2'"
    assert lines[2] == "  after applying the recorded patch to old.py, train.py"
    assert lines[3] == "  with TORCHLANE_SEED=1"


def _answer(root: Path, args: list[str], answer: bytes) -> tuple[int, str]:
    """Run the real CLI on a terminal (a pseudo-terminal) and answer its question."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [PY, "-m", "torchlane", *args],
        cwd=root,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while b"Run it?" not in seen and time.monotonic() < deadline:
        if select.select([leader], [], [], 1)[0]:
            seen += os.read(leader, 4096)
    os.write(leader, answer)
    while process.poll() is None and time.monotonic() < deadline:
        if select.select([leader], [], [], 0.2)[0]:
            try:
                seen += os.read(leader, 4096)
            except OSError:
                break
    os.close(leader)
    return process.wait(timeout=60), seen.decode("utf-8", "replace")


@pytest.mark.slow
def test_on_a_terminal_reproduce_asks_and_no_runs_nothing(cli, training_repo: Git) -> None:
    root = training_repo.cwd
    note = recorded(cli, root)
    (root / "outputs" / "ran.txt").unlink()
    code, seen = _answer(root, ["reproduce", str(note)], b"n\n")
    assert code == 1, seen
    assert "executes, at commit" in seen
    assert "Not run." in seen
    assert not (root / "outputs" / "ran.txt").exists()
    code, seen = _answer(root, ["reproduce", str(note)], b"y\n")
    assert code == 0, seen
    assert "verdict: identical" in seen
