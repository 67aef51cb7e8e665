"""`torchlane status` with conflict prediction against a per-branch shell loop, on two histories.

Anchor: for every branch, `git rev-list --left-right --count develop...B` and
`git merge-tree --write-tree --name-only develop B` (what a script, or a naive implementation,
would run). Two generated repositories with 20,000 commits and 1,000 feature branches
(bench/status_repo.py): bench's own, where the prefilter proves most branches clean, and a
conflict-heavy one (branches forked from the last 3,000 develop commits, each editing 3 of the
500 files develop keeps editing), where nearly every branch needs a real merge.

Targets, each against the loop measured in the same run:
  - a cold run (no merge-prediction cache, no stored commit graph) at most 0.1x, on both
    histories;
  - a re-run after one new develop commit (editing one file), with the caches the previous run
    left, at most 0.05x.
Before timing, a sample of branches is checked against git's own answers, after the new commit
too: a fast wrong answer fails the benchmark. The new commit is made with plumbing and undone
afterwards; the generated repositories stay as generated.

Environment: BENCH_STATUS_COMMITS / BENCH_STATUS_BRANCHES shrink the repositories for a quick
run (e.g. 4000 / 200).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchResult, best_time
from bench.status_repo import generated_repository

ROOT = Path(__file__).resolve().parent.parent
ANCHOR_LOOP = (
    "for b in $(git for-each-ref --format='%(refname:short)' refs/heads/feature/); do "
    "git rev-list --left-right --count develop...$b; "
    "git merge-tree --write-tree --name-only develop $b; "
    "done >/dev/null 2>&1; true"
)
CACHE = Path(".git") / "torchlane" / "merge-predictions.json"
GRAPH_CACHE = Path(".git") / "torchlane" / "commit-graph.marshal"
# The file the new develop commit edits: one develop itself keeps editing.
EDITED = {"default": "src/core/m003.py", "conflicts": "src/shared/s123.py"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def status_json(repo: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane", "status", "--json", "-C", str(repo)],
        capture_output=True, text=True, check=True, env=_env(),
    )  # fmt: skip
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def _cold_status(repo: Path) -> dict[str, object]:
    """A run with nothing kept from an earlier one: no merge predictions, no commit graph."""
    (repo / CACHE).unlink(missing_ok=True)
    (repo / GRAPH_CACHE).unlink(missing_ok=True)
    return status_json(repo)


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env
    ).stdout.strip()


def check_sample(repo: Path, report: dict[str, object], sample: int = 60) -> None:
    branches = {b["name"]: b for b in report["branches"]}  # type: ignore[attr-defined]
    for name in random.Random(1).sample(sorted(branches), min(sample, len(branches))):

        def git(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                  check=False)  # fmt: skip

        behind, ahead = map(
            int, git("rev-list", "--left-right", "--count", f"develop...{name}").stdout.split()
        )
        merged = git("merge-tree", "--write-tree", "--name-only", "--no-messages", "develop", name)
        conflict = merged.returncode == 1
        files = sorted({f for f in merged.stdout.splitlines()[1:] if f})
        got = branches[name]
        mine = (got["ahead"], got["behind"], got["conflict"], sorted(got["conflict_files"]))
        if mine != (ahead, behind, conflict, files):
            raise AssertionError(
                f"status disagrees with git on {name}: {mine} vs {ahead, behind, conflict, files}"
            )


def _cpu_seconds(func: Callable[[], object]) -> float:
    """CPU time of the child processes `func` runs: steadier than wall time on a busy machine,
    and it gives torchlane no credit for running git in parallel."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    func()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _fresh_store_cpu(repo: Path) -> tuple[float, float]:
    """CPU of a first status run and of the loop, each on its own copy of `repo` whose object
    store holds none of the merge results. merge-tree writes those; the timed runs find them
    already there (left by the loop or an earlier run), which a repository never has the first
    time develop is at a given tip."""
    cpu: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-status-") as scratch:
        for name in ("status", "loop"):
            copy = Path(scratch) / name
            shutil.copytree(repo, copy, symlinks=True)
            _git(copy, "prune", "--expire=now")
            if name == "status":
                cpu.append(_cpu_seconds(lambda: _cold_status(copy)))  # noqa: B023 - called now
            else:
                cpu.append(_cpu_seconds(lambda: _run_anchor(copy)))  # noqa: B023 - called now
    return cpu[0], cpu[1]


def _run_anchor(repo: Path) -> None:
    subprocess.run(["bash", "-c", ANCHOR_LOOP], cwd=repo, check=True)


def _new_develop_commit(repo: Path, path: str) -> str:
    """A commit on top of develop that edits one line of `path` (not yet on any ref)."""
    old = _git(repo, "show", f"develop:{path}")
    lines = old.splitlines()
    lines[len(lines) // 2] = "edited = 'by the benchmark'"
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo, input="\n".join(lines) + "\n",
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    index = repo / ".git" / "bench-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    env.update(GIT_COMMITTER_DATE="2030-01-01T00:00:00Z", GIT_AUTHOR_DATE="2030-01-01T00:00:00Z")
    env.update(GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com")
    env.update(GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com")
    _git(repo, "read-tree", "develop", env=env)
    _git(repo, "update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = _git(repo, "write-tree", env=env)
    index.unlink()
    return _git(repo, "commit-tree", tree, "-p", "develop", "-m", "Bench: one new commit", env=env)


def _one_history(kind: str, commits: int, branches: int) -> list[BenchResult]:
    repo = generated_repository(ROOT / "bench-output", commits, branches, kind=kind)
    report = _cold_status(repo)
    check_sample(repo, report)
    print(f"{kind} history: {repo} ({commits} commits, {branches} branches); merge-tree "
          f"needed for {report['merge_tree_runs']} of {branches} branches")  # fmt: skip

    def anchor() -> None:
        _run_anchor(repo)

    anchor_s = best_time(anchor, repeat=2)
    cold_s = best_time(lambda: _cold_status(repo), repeat=3)
    anchor_cpu, cold_cpu = _cpu_seconds(anchor), _cpu_seconds(lambda: _cold_status(repo))
    print(f"  cpu time: cold status {cold_cpu:.2f} s, anchor loop {anchor_cpu:.2f} s "
          f"({cold_cpu / anchor_cpu:.3f}x)")  # fmt: skip
    first_cpu, first_anchor_cpu = _fresh_store_cpu(repo)
    print(f"  cpu time, first run (merge results not yet in the object store): status "
          f"{first_cpu:.2f} s, anchor loop {first_anchor_cpu:.2f} s "
          f"({first_cpu / first_anchor_cpu:.3f}x)")  # fmt: skip

    # The re-run: the caches of a run at develop's tip, then one new commit on develop.
    old_tip = _git(repo, "rev-parse", "develop")
    _cold_status(repo)
    kept = repo / ".git" / "bench-merge-predictions.json"
    kept_graph = repo / ".git" / "bench-commit-graph.marshal"
    shutil.copyfile(repo / CACHE, kept)
    shutil.copyfile(repo / GRAPH_CACHE, kept_graph)
    new_tip = _new_develop_commit(repo, EDITED[kind])

    def rerun() -> dict[str, object]:
        shutil.copyfile(kept, repo / CACHE)
        shutil.copyfile(kept_graph, repo / GRAPH_CACHE)
        return status_json(repo)

    try:
        _git(repo, "update-ref", "refs/heads/develop", new_tip, old_tip)
        again = rerun()
        check_sample(repo, again)
        print(f"  after one new develop commit: {again['merge_predictions_reused']} answers "
              f"reused, merge-tree needed for {again['merge_tree_runs']}")  # fmt: skip
        rerun_s = best_time(rerun, repeat=3)
        rerun_cpu = _cpu_seconds(rerun)
        print(f"  cpu time: re-run {rerun_cpu:.2f} s ({rerun_cpu / anchor_cpu:.3f}x)")
    finally:
        _git(repo, "update-ref", "refs/heads/develop", old_tip)
        for path in (kept, kept_graph, repo / CACHE, repo / GRAPH_CACHE):
            path.unlink(missing_ok=True)
    label = f"{commits} commits, {branches} branches, {kind} history"
    loop = "per-branch rev-list --count + merge-tree loop"
    return [
        BenchResult(f"status, cold, {label}", cold_s, anchor_s, loop, 0.1),
        BenchResult(
            f"status re-run after one develop commit, {label}", rerun_s, anchor_s, loop, 0.05
        ),
    ]


def run() -> list[BenchResult]:
    commits = int(os.environ.get("BENCH_STATUS_COMMITS", "20000"))
    branches = int(os.environ.get("BENCH_STATUS_BRANCHES", "1000"))
    results: list[BenchResult] = []
    for kind in ("default", "conflicts"):
        results += _one_history(kind, commits, branches)
    return results
