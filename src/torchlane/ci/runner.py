"""Runs a pipeline's stages: independent ones in parallel, each one's output captured."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from torchlane import proc
from torchlane.ci.cache import StageCache, stage_key
from torchlane.ci.stages import Stage
from torchlane.errors import TorchlaneError
from torchlane.git import Git


class StageStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    CACHED = "cached"  # skipped: inputs unchanged since its last green run here
    BLOCKED = "blocked"  # skipped: a stage it needs did not pass
    RUNNING = "running"
    WAITING = "waiting"


@dataclass
class StageResult:
    name: str
    status: StageStatus
    required: bool
    command: tuple[str, ...]
    seconds: float = 0.0
    exit_code: int | None = None
    output: str = ""
    reason: str = ""


@dataclass
class PipelineResult:
    context: str
    branch: str | None
    stages: list[StageResult]
    seconds: float
    note: str = ""  # why no stage ran (`ci --event` for an event the generated CI skips)

    @property
    def passed(self) -> bool:
        return not any(
            s.required and s.status in (StageStatus.FAILED, StageStatus.BLOCKED)
            for s in self.stages
        )


Listener = Callable[[StageResult], None]


def _order(stages: list[Stage]) -> list[Stage]:
    """Stages in dependency order; a cycle in `needs` is a configuration error."""
    by_name = {s.name: s for s in stages}
    done: list[Stage] = []
    visiting: set[str] = set()

    def visit(stage: Stage, path: tuple[str, ...]) -> None:
        if stage in done:
            return
        if stage.name in visiting:
            cycle = " -> ".join((*path, stage.name))
            raise TorchlaneError(
                f"The CI stages depend on each other in a cycle: {cycle}.",
                "Fix `needs` in [tool.torchlane.ci.stages].",
            )
        visiting.add(stage.name)
        for need in stage.needs:
            visit(by_name[need], (*path, stage.name))
        visiting.discard(stage.name)
        done.append(stage)

    for stage in stages:
        visit(stage, ())
    return done


def stage_environment(stage: Stage, jobs: int) -> dict[str, str]:
    env = {**os.environ, "TORCHLANE_CI_STAGE": stage.name, "PYTHONUNBUFFERED": "1"}
    if jobs > 1 and "OMP_NUM_THREADS" not in env:
        # Each PyTorch (OpenMP) process takes every core by default: stages running side by side
        # would oversubscribe the machine, and spinning OpenMP workers then slow every stage down
        # (measured: slower than running the stages one after another). The same default
        # torchrun applies to its processes; a value the user set is kept.
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    return env


_NO_MODULE = re.compile(r"No module named '?([A-Za-z0-9_.]+)'?")


def missing_tool(stage: Stage, exit_code: int, output: str) -> str:
    """Why a stage failed when its tool is not installed (empty otherwise): the tool's name and
    where to add it, instead of a traceback's last line."""
    command = stage.command
    tool = ""
    if exit_code == 127:
        tool = Path(command[0]).name if command else ""
    elif len(command) > 2 and command[1] == "-m":
        found = _NO_MODULE.search(output)
        # Only the stage's own module: a test that fails on an import is a failing test.
        if found and found.group(1).split(".")[0] == command[2].split(".")[0]:
            tool = command[2]
    if not tool:
        return ""
    return (
        f"{tool} is not installed in this environment; add it to the project's dev extra "
        "(CI installs the extras in [tool.torchlane.ci] install_extras) or its lock, or change "
        f"[tool.torchlane.ci.stages.{stage.name}] command"
    )


def _run_stage(stage: Stage, root: Path, jobs: int) -> tuple[int, str]:
    env = stage_environment(stage, jobs)
    try:
        done = proc.run(
            stage.command, cwd=root, env=env, closed_stdin=True, merge_stderr=True, check=False
        )
    except FileNotFoundError:
        return 127, f"command not found: {stage.command[0]}\n"
    return done.returncode, done.stdout


class _Scheduler:
    """Starts each stage once the stages it needs have passed (or were cached)."""

    def __init__(
        self,
        git: Git,
        stages: list[Stage],
        cache: StageCache | None,
        listener: Listener | None,
        excluded: tuple[str, ...] = (),
    ):
        self.git = git
        self.excluded = excluded
        self.cache = cache
        self.listener = listener
        self.ordered = _order(stages)
        self.jobs = 1
        self.results = {
            s.name: StageResult(s.name, StageStatus.WAITING, s.required, s.command)
            for s in self.ordered
        }
        # A key is taken when its stage becomes ready, after the stages it needs: a gate keyed
        # on refs must see the note that evaluate just wrote, or an unchanged re-run misses it.
        self.keys: dict[str, str] = {}
        self._file_hashes: dict[tuple[str, ...], str] = {}
        self._lock = threading.Lock()

    def notify(self, result: StageResult) -> None:
        if self.listener is not None:
            with self._lock:
                self.listener(result)

    def execute(self, stage: Stage) -> None:
        result = self.results[stage.name]
        result.status = StageStatus.RUNNING
        self.notify(result)
        begin = time.perf_counter()
        result.exit_code, result.output = _run_stage(stage, self.git.cwd, self.jobs)
        result.seconds = time.perf_counter() - begin
        result.status = StageStatus.PASSED if result.exit_code == 0 else StageStatus.FAILED
        if result.status is StageStatus.FAILED:
            result.reason = missing_tool(stage, result.exit_code, result.output)
        self.notify(result)

    def settle(self, stage: Stage) -> bool | None:
        """True: start it now; False: settled without running (blocked or cached); None: wait."""
        needed = [self.results[n] for n in stage.needs]
        failed = [r.name for r in needed if r.status in (StageStatus.FAILED, StageStatus.BLOCKED)]
        result = self.results[stage.name]
        if failed:
            result.status = StageStatus.BLOCKED
            result.reason = f"needs {', '.join(failed)}, which did not pass"
        elif not all(r.status in (StageStatus.PASSED, StageStatus.CACHED) for r in needed):
            return None
        elif self.cache is None:
            return True
        else:
            self.keys[stage.name] = stage_key(self.git, stage, self._file_hashes, self.excluded)
            if not self.cache.is_green(stage.name, self.keys[stage.name]):
                return True
            result.status = StageStatus.CACHED
            result.reason = "inputs unchanged since its last green run"
        self.notify(result)
        return False

    def _critical_first(self) -> list[Stage]:
        """Stages by the length of the chain of stages waiting on them, longest first (stable).

        With fewer workers than ready stages, starting the head of the longest chain first keeps
        short independent stages from delaying it (list scheduling on the critical path).
        """
        chain: dict[str, int] = {}
        for stage in reversed(self.ordered):  # dependents come after what they need
            waiting = [chain[s.name] for s in self.ordered if stage.name in s.needs]
            chain[stage.name] = 1 + max(waiting, default=0)
        return sorted(self.ordered, key=lambda s: -chain[s.name])

    def run(self, jobs: int) -> list[StageResult]:
        self.jobs = jobs
        pending = self._critical_first()
        running: set[Future[None]] = set()
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            while pending or running:
                for stage in list(pending):
                    decision = self.settle(stage)
                    if decision is not None:
                        pending.remove(stage)
                    if decision:
                        running.add(pool.submit(self.execute, stage))
                if running:
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
        self._remember_green()
        return [self.results[s.name] for s in self.ordered]

    def _remember_green(self) -> None:
        if self.cache is None:
            return
        for name, result in self.results.items():
            if result.status is StageStatus.PASSED and name in self.keys:
                self.cache.mark_green(name, self.keys[name])
            elif result.status is StageStatus.FAILED:
                self.cache.forget(name)
        self.cache.save()


def run_pipeline(
    git: Git,
    stages: list[Stage],
    *,
    context: str,
    branch: str | None,
    cache: StageCache | None,
    jobs: int,
    listener: Listener | None = None,
    excluded: tuple[str, ...] = (),
) -> PipelineResult:
    started = time.perf_counter()
    results = _Scheduler(git, stages, cache, listener, excluded).run(jobs)
    return PipelineResult(context, branch, results, time.perf_counter() - started)
