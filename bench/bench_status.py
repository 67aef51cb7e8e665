"""`torchlane status` with conflict prediction against a per-branch shell loop.

Anchor: for every branch, `git rev-list --left-right --count develop...B` and
`git merge-tree --write-tree develop B` (what a script, or a naive implementation, would run).
Target: at most 0.3x the anchor, on a generated repository with 20,000 commits and 1,000
feature branches (bench/status_repo.py). Before timing, a sample of branches is checked against
the same git commands: a fast wrong answer fails the benchmark.

Environment: BENCH_STATUS_COMMITS / BENCH_STATUS_BRANCHES shrink the repository for a quick run.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchResult, best_time
from bench.status_repo import generated_repository

ROOT = Path(__file__).resolve().parent.parent
ANCHOR_LOOP = (
    "for b in $(git for-each-ref --format='%(refname:short)' refs/heads/feature/); do "
    "git rev-list --left-right --count develop...$b; git merge-tree --write-tree develop $b; "
    "done >/dev/null 2>&1; true"
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _status(repo: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane", "status", "--json", "-C", str(repo)],
        capture_output=True, text=True, check=True, env=_env(),
    )  # fmt: skip
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def _check_sample(repo: Path, report: dict[str, object], sample: int = 60) -> None:
    branches = {b["name"]: b for b in report["branches"]}  # type: ignore[attr-defined]
    for name in random.Random(1).sample(sorted(branches), min(sample, len(branches))):

        def git(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                  check=False)  # fmt: skip

        behind, ahead = map(
            int, git("rev-list", "--left-right", "--count", f"develop...{name}").stdout.split()
        )
        conflict = git("merge-tree", "--write-tree", "develop", name).returncode == 1
        got = branches[name]
        if (got["ahead"], got["behind"], got["conflict"]) != (ahead, behind, conflict):
            raise AssertionError(
                f"status disagrees with git on {name}: {got} vs {ahead, behind, conflict}"
            )


def _cpu_seconds(func: Callable[[], object]) -> float:
    """CPU time of the child processes `func` runs: steadier than wall time on a busy machine,
    and it gives torchlane no credit for running git in parallel."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    func()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run() -> list[BenchResult]:
    commits = int(os.environ.get("BENCH_STATUS_COMMITS", "20000"))
    branches = int(os.environ.get("BENCH_STATUS_BRANCHES", "1000"))
    repo = generated_repository(ROOT / "bench-output", commits, branches)
    report = _status(repo)
    _check_sample(repo, report)
    runs = report["merge_tree_runs"]
    print(f"generated repository: {repo} ({commits} commits, {branches} branches); "
          f"merge-tree needed for {runs} of {branches} branches")  # fmt: skip

    def anchor() -> None:
        subprocess.run(["bash", "-c", ANCHOR_LOOP], cwd=repo, check=True)

    anchor_s = best_time(anchor, repeat=2)
    measured_s = best_time(lambda: _status(repo), repeat=3)
    anchor_cpu, measured_cpu = _cpu_seconds(anchor), _cpu_seconds(lambda: _status(repo))
    print(f"cpu time: status {measured_cpu:.2f} s, anchor loop {anchor_cpu:.2f} s "
          f"({measured_cpu / anchor_cpu:.3f}x)")  # fmt: skip
    return [
        BenchResult(
            name=f"status with conflicts, {commits} commits, {branches} branches",
            measured_s=measured_s,
            anchor_s=anchor_s,
            anchor="per-branch rev-list --count + merge-tree loop",
            target_ratio=0.3,
        )
    ]
