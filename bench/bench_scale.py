"""How the heavy paths grow from 1x to 10x their benchmark size: near-linear or better.

  - `torchlane status` (cold, conflict-heavy history): 100 -> 1,000 branches (20 commits each);
  - `torchlane secrets scan --history`: 500 -> 5,000 commits;
  - reading the metrics records of N develop commits (`metrics log`): 500 -> 5,000;
  - the notebook filter (`git add` of N notebooks): 200 -> 2,000.

Each line prints the curve (time at 1x and 10x, and the growth against linear); the target is
t(10x) <= 1.3 x 10 x t(1x). Fixed costs (interpreter start-up) make the small size relatively
dear, so linear work passes comfortably; anything quadratic fails.

Environment: BENCH_SCALE_QUICK=1 divides every size by 10 (a quick smoke run: fixed costs then
dominate, so only gross regressions show); BENCH_SCALE_STATUS_MAX=1 adds status at 10,000
branches (200,000 commits: minutes to generate, about 30 s to run).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_metrics import build_history
from bench.bench_nbfilter import _env, torchlane_add_time, write_corpus
from bench.bench_status import CACHE, GRAPH_CACHE, check_sample, status_json
from bench.common import BenchResult, best_time
from bench.status_repo import generated_repository
from torchlane.metrics.store import read_many

ROOT = Path(__file__).resolve().parent.parent
QUICK = 10 if os.environ.get("BENCH_SCALE_QUICK") else 1
GROWTH_TARGET = 1.3  # t(10x) / (10 t(1x))


def _python(*args: str, cwd: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, capture_output=True)


def _curve(subject: str, unit: str, sizes: list[int], timed: Callable[[int], float]) -> BenchResult:
    times = [timed(size) for size in sizes]
    points = ", ".join(
        f"{size:,} {unit}: {t * 1000:.0f} ms" for size, t in zip(sizes, times, strict=False)
    )
    steps = ", ".join(f"x{later / earlier:.1f}" for earlier, later in itertools.pairwise(times))
    print(f"{subject}: {points} (per 10x: {steps})", flush=True)
    return BenchResult(
        name=f"{subject}, {sizes[0]:,} -> {sizes[1]:,} {unit}",
        measured_s=times[1],
        anchor_s=10 * times[0],
        anchor="10x the time at 1x (linear growth)",
        target_ratio=GROWTH_TARGET,
    )


def _status_time(branches: int) -> float:
    repo = generated_repository(ROOT / "bench-output", 20 * branches, branches, kind="conflicts")
    caches = [repo / CACHE, repo / GRAPH_CACHE]  # a cold run: nothing kept from an earlier one

    def cold() -> None:
        for cache in caches:
            cache.unlink(missing_ok=True)
        _python("-m", "torchlane", "status", "--json", "-C", str(repo), cwd=repo)

    for cache in caches:
        cache.unlink(missing_ok=True)
    check_sample(repo, status_json(repo))  # a fast wrong answer fails the benchmark
    return best_time(cold, repeat=2)


def _secrets_history(root: Path, commits: int) -> Path:
    """`commits` commits, each changing a 20-line file: one fast-import stream."""
    repo = root / f"secrets-{commits}"
    repo.mkdir()
    subprocess.run(["git", "init", "--quiet", "--initial-branch", "main"], cwd=repo, check=True)
    parts: list[str] = []
    for i in range(commits):
        body = "".join(f"setting_{i}_{line} = 'value {line}'\n" for line in range(20))
        parts.append(
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"committer Bench <bench@example.com> {1_700_000_000 + i} +0000\n"
            f"data {len(f'change {i}')}\nchange {i}\n"
            + (f"from :{i}\n" if i else "")
            + f"M 100644 inline config/module_{i % 200:03d}.py\ndata {len(body)}\n{body}\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input="".join(parts), text=True,
                   check=True)  # fmt: skip
    return repo


def _secrets_time(root: Path, commits: int) -> float:
    repo = _secrets_history(root, commits)
    scan = ["-m", "torchlane", "secrets", "scan", "--history", "-C", str(repo)]
    return best_time(lambda: _python(*scan, cwd=repo), repeat=2)


def _metrics_time(root: Path, commits: int) -> float:
    folder = root / f"metrics-{commits}"
    folder.mkdir()
    git, shas = build_history(folder, commits)
    assert len(read_many(git, shas)) == commits
    return best_time(lambda: read_many(git, shas), repeat=3)


def _notebook_time(root: Path, count: int) -> float:
    corpus = root / f"notebooks-{count}"
    write_corpus(corpus, count)
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = _env(home)
    times = [torchlane_add_time(corpus, root / f"nb-{count}-{i}", env) for i in range(2)]
    return min(times)


def run() -> list[BenchResult]:
    results = []
    status_sizes = [100 // QUICK, 1000 // QUICK]
    if os.environ.get("BENCH_SCALE_STATUS_MAX"):
        status_sizes.append(10_000)
    results.append(_curve("status, cold, conflict-heavy", "branches", status_sizes, _status_time))
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        for subject, unit, base, timed in (
            ("secrets scan --history", "commits", 500, _secrets_time),
            ("metrics records read", "commits", 500, _metrics_time),
            ("notebook filter git add", "notebooks", 200, _notebook_time),
        ):
            sizes = [max(1, base // QUICK), 10 * max(1, base // QUICK)]
            results.append(_curve(subject, unit, sizes, lambda n, f=timed: f(root, n)))  # type: ignore[misc]
        print(f"(scale curves took {time.perf_counter() - started:.0f} s)", flush=True)
    return results
