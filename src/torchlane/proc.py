"""Every program torchlane starts goes through here: one way to run, one error when it fails.

Standard library and torchlane.errors only: the git hooks import it, and they must start fast
(no pydantic, click, rich; not even dataclasses, typing or pathlib).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO

from torchlane.errors import TorchlaneError

Command = str | Sequence[str]  # a string only with shell=True
Directory = str | os.PathLike[str]  # not pathlib: the hooks need not import it


def shown(command: Command) -> str:
    return command if isinstance(command, str) else shlex.join(command)


class Result:
    """How a finished program went: its exit status and what it printed (text)."""

    __slots__ = ("argv", "returncode", "stderr", "stdout")

    def __init__(self, argv: tuple[str, ...], returncode: int, stdout: str, stderr: str):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __repr__(self) -> str:
        return f"Result({self.argv!r}, returncode={self.returncode})"


def useful_lines(result: Result, limit: int = 3) -> str:
    """The last lines a failed program said (stderr, else stdout), on one line."""
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines()]
    kept = [line for line in lines if line][-limit:]
    return "; ".join(kept) or f"exit status {result.returncode}"


class ProcError(TorchlaneError):
    """A program torchlane needed exited with a failure status."""

    def __init__(self, result: Result, hint: str | None = None):
        command = shlex.join(result.argv)
        super().__init__(
            f"`{command}` failed: {useful_lines(result)}",
            hint or f"Run `{command}` by hand to see everything it says.",
        )
        self.result = result


class ProcTimeoutError(TorchlaneError):
    """A program did not finish in the time torchlane gave it (it was killed)."""

    def __init__(self, command: Command, timeout: float, hint: str | None = None):
        super().__init__(
            f"`{shown(command)}` did not finish within {timeout:g} s.",
            hint or "It may be waiting for input or for the network; run it by hand to see.",
        )
        self.command = command
        self.timeout = timeout


def _argv(command: Command) -> tuple[str, ...]:
    return (command,) if isinstance(command, str) else tuple(command)


def run(
    command: Command,
    *,
    cwd: Directory | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
    check: bool = True,
    shell: bool = False,
    merge_stderr: bool = False,
    closed_stdin: bool = False,
    hint: str | None = None,
) -> Result:
    """Run to completion and capture its output as text.

    `merge_stderr` interleaves stderr into stdout, as a terminal shows them; `closed_stdin`
    gives a command no standard input, so that a prompt fails instead of waiting forever.
    OSError (no such program, not executable) propagates: each caller words it for its user.
    """
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=None if env is None else dict(env),
            input=input,
            stdin=subprocess.DEVNULL if closed_stdin and input is None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            text=True,
            errors="replace",
            timeout=timeout,
            shell=shell,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ProcTimeoutError(command, timeout or 0.0) from exc
    result = Result(_argv(command), proc.returncode, proc.stdout, proc.stderr or "")
    if check and not result.ok:
        raise ProcError(result, hint)
    return result


def tee(
    command: Command,
    *,
    echo: Callable[[bytes], None],
    cwd: Directory | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    shell: bool = False,
    keep_lines: int = 50,
) -> Result:
    """Run with no input, handing each line of its output (stderr merged) to `echo` as it comes.

    The Result holds the last `keep_lines` lines as stdout (for an error message). A command
    still running after `timeout` seconds is killed: ProcTimeoutError. OSError propagates.
    """
    import collections
    import threading

    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        shell=shell,
    )
    assert proc.stdout is not None
    tail: collections.deque[bytes] = collections.deque(maxlen=keep_lines)

    def copy(out: IO[bytes]) -> None:
        for line in out:
            tail.append(line)
            echo(line)

    reader = threading.Thread(target=copy, args=(proc.stdout,), daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.wait()
        raise ProcTimeoutError(command, timeout or 0.0) from exc
    finally:
        reader.join(timeout=5)
        proc.stdout.close()
    text = b"".join(tail).decode("utf-8", "replace")
    return Result(_argv(command), proc.returncode, text, "")


def output_bytes(
    argv: Sequence[str],
    *,
    cwd: Directory | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> bytes:
    """Standard output as bytes (file contents need not be text); ProcError on failure."""
    proc = subprocess.run(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        input=input,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        raise ProcError(Result(tuple(argv), proc.returncode, "", stderr))
    return proc.stdout


def stream(
    argv: Sequence[str], *, cwd: Directory | None = None, env: Mapping[str, str] | None = None
) -> Iterator[bytes]:
    """Output lines as the program produces them, for output too large to hold.

    ProcError once the lines are read, if it failed and said why on stderr.
    """
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        yield from proc.stdout
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        if proc.wait() != 0 and stderr:
            raise ProcError(Result(tuple(argv), proc.returncode, "", stderr))


def passthrough(
    argv: Sequence[str],
    *,
    cwd: Directory | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    stdout: int | None = None,
    outlive_interrupt: bool = False,
) -> int:
    """Run with this process's terminal (stdout, unless redirected, and stderr); its exit status.

    With `outlive_interrupt`, Ctrl-C (which the terminal sends to the command too) waits for the
    command to finish instead of killing it: a training script's own handler gets to save. A
    command killed by a signal then reports it as a negative status, as subprocess does.
    """
    run_env = None if env is None else dict(env)
    if not outlive_interrupt:
        return subprocess.run(
            list(argv), cwd=cwd, env=run_env, input=input, stdout=stdout, check=False
        ).returncode
    process = subprocess.Popen(list(argv), cwd=cwd, env=run_env, stdout=stdout)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return process.wait()
