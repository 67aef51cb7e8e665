"""`torchlane env lock`: a fully pinned lock with hashes, resolved by pip-tools (not by hand), with
a header recording a hash of its inputs so that `env check` can tell when it is stale."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from torchlane import proc
from torchlane.env.check.requirement_rules import missing_index_lines
from torchlane.env.check.requirements import parse_requirements
from torchlane.env.lock.lockfile import header_line
from torchlane.env.settings import EnvSpec
from torchlane.errors import TorchlaneError


@dataclass(frozen=True)
class LockResult:
    lock: str
    inputs: tuple[str, ...]
    packages: int
    warnings: tuple[str, ...]


def pip_compile_command(
    python: str, inputs: tuple[str, ...], output: str, upgrade: bool
) -> list[str]:
    command = [python, "-m", "piptools", "compile", "--quiet", "--generate-hashes",
               "--allow-unsafe", "--strip-extras", "--no-header", "--no-emit-index-url",
               "--no-emit-find-links", "--no-emit-trusted-host", "--output-file", output]  # fmt: skip
    if upgrade:
        command.append("--upgrade")
    return [*command, *inputs]


def _index_options(root: Path, inputs: tuple[str, ...]) -> list[tuple[str, str]]:
    """Index options written in the inputs (e.g. download.pytorch.org/whl/cu128). pip-compile is
    told not to emit index options because it would also copy this machine's pip configuration."""
    found: list[tuple[str, str]] = []
    for name in inputs:
        for _, option, value in parse_requirements(
            (root / name).read_text(encoding="utf-8")
        ).options:
            if (
                option in ("-i", "--index-url", "--extra-index-url")
                and (option, value) not in found
            ):
                found.append(("--index-url" if option == "-i" else option, value))
    return found


def _indexes_for_local_versions(lock_text: str, spec: EnvSpec) -> str:
    """pip-compile may find torch==X+cu128 through this machine's pip configuration, which the
    lock does not carry: record the PyTorch index each local-version pin needs, so that the
    image's `pip install -r LOCK` finds it too; refuse a local version no known index serves."""
    try:
        lines = missing_index_lines(parse_requirements(lock_text))
    except ValueError as exc:
        raise TorchlaneError(
            f"the lock would pin {exc}, so the image could not install it.",
            "Name the index that serves it in the requirement file (--extra-index-url URL), "
            "or pin a version from PyPI.",
        ) from exc
    return "".join(f"{line}\n" for line in lines)


def _python_version(python: str) -> str | None:
    """MAJOR.MINOR of `python` if pip-tools is importable there, else None."""
    probe = "import sys, piptools; print('%d.%d' % sys.version_info[:2])"
    try:
        done = proc.run([python, "-c", probe], check=False)
    except OSError as exc:
        raise TorchlaneError(
            f"cannot run {python}: {exc.strerror}.", "Pass an existing interpreter with --python."
        ) from exc
    return done.stdout.strip() if done.ok else None


def make_lock(
    root: Path, spec: EnvSpec, *, upgrade: bool = False, python: str | None = None
) -> LockResult:
    """Resolve with `python` (default: this interpreter), which must have pip-tools installed."""
    python = python or sys.executable
    inputs = tuple(spec.requirements)
    missing = [p for p in inputs if not (root / p).is_file()]
    if missing:
        raise TorchlaneError(
            f"the declared requirement file(s) {', '.join(missing)} do not exist.",
            "Create them, or set `requirements` in [tool.torchlane.env].",
        )
    running = _python_version(python)
    if running is None:
        raise TorchlaneError(
            f"pip-tools is not installed for {python}, and `env lock` resolves with it.",
            f"Install it: `{python} -m pip install pip-tools`, or pass another interpreter with --python.",
        )
    warnings = []
    if running != spec.python:
        warnings.append(
            f"resolved with Python {running}; the declaration says {spec.python}: pass --python with a {spec.python} interpreter for an exact match"
        )
    lock = root / spec.lock
    with tempfile.TemporaryDirectory(prefix="torchlane-lock-", dir=root) as scratch:
        output = Path(scratch) / "requirements.lock"
        if lock.is_file() and not upgrade:
            shutil.copyfile(lock, output)  # pip-compile keeps the pins it finds there
        done = proc.run(
            pip_compile_command(python, inputs, os.path.relpath(output, root), upgrade),
            cwd=root, check=False,
        )  # fmt: skip
        if not done.ok:
            detail = [
                line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()
            ]
            raise TorchlaneError(
                f"pip-compile could not resolve {', '.join(inputs)}: {detail[-1] if detail else 'exit status ' + str(done.returncode)}",
                "Fix the requirement it names (or the package index settings), then rerun `torchlane env lock`.",
            )
        body = output.read_text(encoding="utf-8").replace(os.path.relpath(output, root), spec.lock)
        header = (
            header_line(root, inputs)
            + "\n# Made by `torchlane env lock` (pip-compile --generate-hashes); do not edit by hand.\n"
            + "".join(f"{option} {value}\n" for option, value in _index_options(root, inputs))
        )
        header += _indexes_for_local_versions(header + body, spec)
        final = Path(scratch) / "final"
        final.write_text(header + body, encoding="utf-8")
        lock.parent.mkdir(parents=True, exist_ok=True)
        os.replace(final, lock)
    packages = len(parse_requirements(header + body).requirements)
    return LockResult(spec.lock, inputs, packages, tuple(warnings))
