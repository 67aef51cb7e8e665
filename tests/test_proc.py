"""proc: one way to run a program, one error when it fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from torchlane import proc
from torchlane.errors import TorchlaneError


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_failure_names_the_command_and_keeps_its_last_lines() -> None:
    code = "import sys; print('step 1', file=sys.stderr); print('\\nno GPU', file=sys.stderr); sys.exit(4)"
    with pytest.raises(proc.ProcError) as caught:
        proc.run(_python(code))
    error = caught.value
    assert isinstance(error, TorchlaneError)
    assert error.message.startswith(f"`{sys.executable} -c ")
    assert error.message.endswith("failed: step 1; no GPU")
    assert "by hand" in str(error.hint)
    assert error.result.returncode == 4


def test_unchecked_failure_is_a_result() -> None:
    done = proc.run(_python("print('out'); raise SystemExit(2)"), check=False)
    assert (done.ok, done.returncode, done.stdout) == (False, 2, "out\n")


def test_merged_output_and_closed_stdin(tmp_path: Path) -> None:
    code = "import sys; print('a'); sys.stdout.flush(); print('b', file=sys.stderr); print(repr(sys.stdin.read()))"
    done = proc.run(_python(code), cwd=tmp_path, merge_stderr=True, closed_stdin=True)
    assert done.stdout.splitlines() == ["a", "b", "''"]
    assert done.stderr == ""


def test_input_and_environment() -> None:
    code = "import os, sys; print(os.environ['PROC_TEST'] + sys.stdin.read())"
    done = proc.run(_python(code), input="-in", env={"PROC_TEST": "env", "PATH": ""})
    assert done.stdout == "env-in\n"


def test_timeout_is_a_torchlane_error() -> None:
    with pytest.raises(proc.ProcTimeoutError, match=r"did not finish within 0.2 s"):
        proc.run(_python("import time; time.sleep(30)"), timeout=0.2)


def test_output_bytes_and_stream() -> None:
    assert proc.output_bytes(_python("import sys; sys.stdout.buffer.write(b'\\xff\\x00')")) == (
        b"\xff\x00"
    )
    assert list(proc.stream(_python("print('1'); print('2')"))) == [b"1\n", b"2\n"]
    with pytest.raises(proc.ProcError, match="broken"):
        list(proc.stream(_python("import sys; sys.exit('broken')")))


def test_passthrough_returns_the_exit_status() -> None:
    assert proc.passthrough(_python("raise SystemExit(3)")) == 3
    assert (
        proc.passthrough(_python("import sys; sys.exit(len(sys.stdin.read()))"), input=b"ab") == 2
    )
    assert proc.passthrough(_python("pass"), stdout=subprocess.DEVNULL, outlive_interrupt=True) == 0
