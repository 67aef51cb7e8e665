from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from torchlane.errors import EXIT_FAILURE, EXIT_UNEXPECTED, EXIT_USAGE


def test_help_lists_commands_without_importing_them(cli) -> None:
    result = cli(["--help"])
    assert result.code == 0
    assert "init" in result.out
    assert "check-name" in result.out


def test_unknown_command_is_a_usage_error(cli) -> None:
    result = cli(["no-such-command"])
    assert result.code == EXIT_USAGE
    assert "No such command" in result.err


def test_expected_failure_prints_message_and_hint(cli, tmp_path: Path) -> None:
    result = cli(["start", "feature", "add-mixup", "-C", str(tmp_path)])
    assert result.code == EXIT_FAILURE
    assert "not inside a git repository" in result.err
    assert "hint:" in result.err


def test_unexpected_failure_writes_a_crash_log(cli, monkeypatch, isolated_env: Path) -> None:
    import torchlane.flow.init as init_module

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(init_module, "init_repository", explode)
    result = cli(["init"])
    assert result.code == EXIT_UNEXPECTED
    assert "RuntimeError: boom" in result.err
    logs = list((isolated_env / ".local" / "state" / "torchlane").glob("crash-*.log"))
    assert len(logs) == 1
    assert "Traceback" in logs[0].read_text()


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "torchlane" in proc.stdout


def test_piped_tables_do_not_wrap_at_a_narrow_terminal_width() -> None:
    fix = "torchlane flow start feature/a-rather-long-branch-name-that-must-stay-whole"
    script = (
        "from torchlane import render\n"
        f"render.print_table('checks', ['name', 'fix'], [['naming', {fix!r}]])\n"
    )
    env = {**os.environ, "COLUMNS": "40"}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert any(fix in line for line in done.stdout.splitlines()), done.stdout
