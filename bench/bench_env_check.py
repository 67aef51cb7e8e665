"""`torchlane env check` as a git hook runs it, against `python -c pass`.

The repository has a Dockerfile, a compose file and a 200-line hashed lock. The target (1.5x) is
for the hook's usual case, inputs unchanged since the last run (a cached replay). The cache-miss
run (every file parsed, the matrix loaded, `git ls-files` called) is reported alongside, and
so is the floor of every `python -m` command (`python -m __hello__`, a frozen stdlib module):
runpy alone costs about 0.4-0.5x of `python -c pass` before torchlane's first line runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import BenchResult, command_time

SRC = str(Path(__file__).resolve().parents[1] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)


def _lock(root: Path, packages: int = 66) -> str:
    from torchlane.env.lock.lockfile import header_line

    lines = [header_line(root, ("requirements.in",))]
    for index in range(packages):
        lines += [f"package{index}==1.{index}.0 \\", "    --hash=sha256:" + f"{index:064x}"]
        lines.append("    # via -r requirements.in")
    return "\n".join(lines[:200]) + "\n"


def _repository(root: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}  # fmt: skip
    (root / "Dockerfile").write_text(
        "ARG BASE=pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime\nFROM ${BASE} AS base\n"
        "COPY requirements.lock /tmp/\nRUN pip install --no-cache-dir -r /tmp/requirements.lock\n",
        encoding="utf-8",
    )
    (root / "compose.yaml").write_text(
        "services:\n  dev:\n    build: .\n  board:\n    image: tensorflow/tensorflow:2.16.1\n",
        encoding="utf-8",
    )
    (root / "requirements.in").write_text(
        "".join(f"package{i}\n" for i in range(66)), encoding="utf-8"
    )
    (root / "requirements.lock").write_text(_lock(root), encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    earlier = time.time() - 3600  # as if edited a while ago (fresh files are never replayed)
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (earlier, earlier))


def _interleaved_best(commands: list[tuple[list[str], dict[str, Any]]], rounds: int) -> list[float]:
    for argv, kwargs in commands:  # warm the page cache and write bytecode
        subprocess.run(argv, capture_output=True, check=False, **kwargs)
    best = [float("inf")] * len(commands)
    for _ in range(rounds):
        for index, (argv, kwargs) in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False, **kwargs)
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def _after_commit_time(argv: list[str], root: Path, env: dict[str, str], rounds: int) -> float:
    """A commit rewrites the index, so the replay cache misses; unchanged files are not re-parsed."""
    index = root / ".git" / "index"
    best = float("inf")
    earlier = time.time() - 3600
    for round_ in range(rounds):
        os.utime(index, (earlier + round_, earlier + round_))
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, cwd=root, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def run() -> list[BenchResult]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    }
    # An installed torchlane has bytecode (pip compiles it); without it every run compiles.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _repository(root)
        argv = [sys.executable, "-m", "torchlane", "env", "check"]
        # Interleaved rounds, best of each: on a loaded machine, drift hits every command alike.
        anchor, cached, floor = _interleaved_best(
            [
                ([sys.executable, "-c", "pass"], {}),
                (argv, {"cwd": root, "env": env}),
                # The floor of any `python -m`: runpy and importlib.util load before our code.
                ([sys.executable, "-m", "__hello__"], {}),
            ],
            rounds=30,
        )
        cold = command_time([*argv, "--no-cache"], repeat=5, cwd=root, env=env)
        after_commit = _after_commit_time(argv, root, env, rounds=8)
    hook = "env check (hook, unchanged inputs)"
    return [
        BenchResult(hook, cached, anchor, "python -c pass", 1.5),
        BenchResult(hook, cached, floor, "python -m __hello__", 1.5),
        BenchResult(
            "env check after a commit (index changed)", after_commit, anchor, "python -c pass", 12.0
        ),
        BenchResult(
            "env check --no-cache (every file parsed)", cold, anchor, "python -c pass", 20.0
        ),
    ]
