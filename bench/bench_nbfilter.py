"""`git add` of 200 notebooks with outputs: torchlane's long-running filter against three anchors.

- a plain `git add` of the same files with no filter at all: the floor (target: at most 1.25x);
- nbstripout-fast (a Rust re-implementation on PyPI, the `bench` extra) as a per-file clean
  filter, what users would pick today for speed (target: torchlane at most 1/3 of its time);
  skipped, saying so, when it is not installed;
- nbstripout's own filter, configured as `nbstripout --install` writes it (a clean command, so
  git starts Python once per notebook; target: at most 1/50 of its time, timed once: ~1 minute).

Ours is installed by `torchlane nb install-filter` (one process for the whole `git add`). Each
run gets a fresh repository with the same files; only `git add` is timed. torchlane, plain git
and nbstripout-fast are timed REPEATS times each, interleaved (so a burst of load on this shared
machine hits all of them alike), and compared by their medians. torchlane and nbstripout must
stage the same blobs (byte-identical stripping), or the benchmark fails rather than compare
different work. torchlane's modules are compiled to bytecode first, as an installed package's
are (the figures before 2026-12-06 compiled them in every timed `git add`).

Environment: BENCH_NB_NOTEBOOKS changes the number of notebooks (e.g. 50 for a quick run);
BENCH_NB_SKIP_NBSTRIPOUT=1 leaves out the one-minute nbstripout run.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult

NOTEBOOKS = int(os.environ.get("BENCH_NB_NOTEBOOKS", "200"))
REPEATS = 5
CELLS = 30
PNG = base64.b64encode(bytes(range(256)) * 12).decode("ascii")  # about 4 KB, like a small plot


def _notebook(seed: int) -> str:
    cells = []
    for index in range(CELLS):
        outputs: list[dict[str, object]] = [
            {
                "name": "stdout",
                "output_type": "stream",
                "text": [
                    f"epoch {seed}.{index} step {step} loss {1 / (step + 1):.6f}\n"
                    for step in range(12)
                ],
            },
            {
                "data": {"text/plain": [f"tensor([{seed}.{index}, 0.5000, 0.2500])"]},
                "execution_count": index + 1,
                "metadata": {},
                "output_type": "execute_result",
            },
        ]
        if index % 10 == 0:
            outputs.append(
                {
                    "data": {"image/png": PNG, "text/plain": ["<Figure>"]},
                    "metadata": {},
                    "output_type": "display_data",
                }
            )
        cells.append(
            {
                "cell_type": "code",
                "execution_count": index + 1,
                "id": f"{seed:04x}{index:04x}",
                "metadata": {"ExecuteTime": {"end_time": "2024-05-01T10:00:00.000Z"}},
                "outputs": outputs,
                "source": [f"# step {index}\n", f"loss = train(model, batch={index})\n", "loss"],
            }
        )
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _git(repo: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


SOURCE = Path(__file__).resolve().parent.parent / "src"


def _env(home: Path) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")]))
    # An installed torchlane has compiled bytecode (pip compiles it); a source checkout run with
    # PYTHONDONTWRITEBYTECODE would compile the filter's modules in every `git add`. Bytecode is
    # cached outside the worktree instead, as bench_hooks and bench_env_check do.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GIT_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "PYTHONPATH": path,
            "PYTHONPYCACHEPREFIX": str(home / "pycache"),
        }
    )
    return env


def _fresh(corpus: Path, repo: Path, setup: list[list[str]], env: dict[str, str]) -> Path:
    shutil.copytree(corpus, repo)
    _git(repo, "init", "--quiet", env=env)
    for args in setup:
        _git(repo, *args, env=env)
    return repo


CPU: dict[str, list[float]] = {}  # label -> CPU seconds of each timed add (git and its filter)


def _timed_add(repo: Path, env: dict[str, str], label: str = "") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    _git(repo, "add", "--all", env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(label, []).append(used)
    return elapsed


def _staged(repo: Path, env: dict[str, str]) -> dict[str, str]:
    rows = _git(repo, "ls-files", "--stage", "--", "*.ipynb", env=env).splitlines()
    return {row.split("\t")[1]: row.split()[1] for row in rows}


def write_corpus(corpus: Path, count: int) -> int:
    """`count` generated notebooks under corpus/notebooks; their total size in bytes."""
    (corpus / "notebooks").mkdir(parents=True)
    for seed in range(count):
        (corpus / "notebooks" / f"run_{seed:04d}.ipynb").write_text(
            _notebook(seed), encoding="utf-8"
        )
    return sum(p.stat().st_size for p in corpus.rglob("*.ipynb"))


def _filter_setup(name: str, clean: str) -> list[list[str]]:
    return [
        ["config", f"filter.{name}.clean", clean],
        ["config", f"filter.{name}.smudge", "cat"],
        ["config", f"filter.{name}.required", "true"],
    ]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def torchlane_add_time(corpus: Path, repo: Path, env: dict[str, str]) -> float:
    """One `git add --all` with torchlane's filter installed, in a fresh copy of `corpus`."""
    _fresh(corpus, repo, [], env)
    install = [sys.executable, "-m", "torchlane", "nb", "install-filter", "--repo", str(repo)]
    subprocess.run(install, env=env, check=True, capture_output=True)
    return _timed_add(repo, env, "torchlane")


def run() -> list[BenchResult]:
    with tempfile.TemporaryDirectory(prefix="bench-nbfilter-") as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        env = _env(home)
        compile_all = [sys.executable, "-m", "compileall", "-q", str(SOURCE / "torchlane")]
        subprocess.run(compile_all, env=env, check=True, capture_output=True)
        corpus = root / "corpus"
        size = write_corpus(corpus, NOTEBOOKS)
        load = os.getloadavg()[0]
        print(f"{NOTEBOOKS} notebooks, {size / 1e6:.1f} MB; load average {load:.2f}", flush=True)
        fast_binary = shutil.which("nbstripout-fast") or shutil.which(
            "nbstripout-fast", path=str(Path(sys.executable).parent)
        )
        if fast_binary is None:
            print("SKIP  nbstripout-fast is not installed (`pip install -c constraints.txt "
                  "'.[bench]'`): its comparison is left out", flush=True)  # fmt: skip
        fast_corpus = root / "corpus-fast"
        shutil.copytree(corpus, fast_corpus)
        (fast_corpus / ".gitattributes").write_text("*.ipynb filter=nbsf\n", encoding="utf-8")

        times: dict[str, list[float]] = {"torchlane": [], "plain": [], "fast": []}
        ours_repo = root / "torchlane-0"
        for attempt in range(REPEATS):
            ours_repo = root / f"torchlane-{attempt}"
            times["torchlane"].append(torchlane_add_time(corpus, ours_repo, env))
            plain = _fresh(corpus, root / f"plain-{attempt}", [], env)
            times["plain"].append(_timed_add(plain, env, "plain"))
            if fast_binary is not None:
                setup = _filter_setup("nbsf", shlex.quote(fast_binary))
                fast = _fresh(fast_corpus, root / f"fast-{attempt}", setup, env)
                times["fast"].append(_timed_add(fast, env, "fast"))
            for repo in (plain, root / f"fast-{attempt}"):
                shutil.rmtree(repo, ignore_errors=True)
        for name, values in times.items():
            if values:
                print(f"{name}: " + ", ".join(f"{t:.3f} s" for t in values), flush=True)
        # Each wall-clock run waits for git and the filter to be scheduled 200 times over; on a
        # loaded machine that dominates, so the CPU both used is printed too (informational).
        cpu = {name: _median(values) for name, values in CPU.items() if values}
        if "plain" in cpu:
            print("cpu medians: " + ", ".join(
                f"{name} {value * 1000:.0f} ms ({value / cpu['plain']:.2f}x plain)"
                for name, value in cpu.items()), flush=True)  # fmt: skip
        if "fast" in cpu and "torchlane" in cpu:
            print(f"cpu: torchlane {cpu['torchlane'] / cpu['fast']:.3f}x nbstripout-fast; "
                  f"load average now {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip

        results = [
            BenchResult(
                name=f"git add of {NOTEBOOKS} notebooks with outputs (filter, median)",
                measured_s=_median(times["torchlane"]),
                anchor_s=_median(times["plain"]),
                anchor="plain git add, no filter",
                target_ratio=1.25,
            )
        ]
        if times["fast"]:
            results.append(
                BenchResult(
                    name=f"git add of {NOTEBOOKS} notebooks with outputs (filter, median)",
                    measured_s=_median(times["torchlane"]),
                    anchor_s=_median(times["fast"]),
                    anchor="nbstripout-fast per-file filter",
                    target_ratio=1 / 3,
                )
            )
        if os.environ.get("BENCH_NB_SKIP_NBSTRIPOUT"):
            print("SKIP  nbstripout's filter: BENCH_NB_SKIP_NBSTRIPOUT is set", flush=True)
            return results
        clean = f"{shlex.quote(sys.executable)} -m nbstripout"
        (corpus / ".gitattributes").write_text("*.ipynb filter=nbstripout\n", encoding="utf-8")
        theirs_repo = _fresh(corpus, root / "nbstripout", _filter_setup("nbstripout", clean), env)
        theirs = _timed_add(theirs_repo, env)
        if _staged(ours_repo, env) != _staged(theirs_repo, env):
            raise SystemExit("torchlane and nbstripout staged different blobs: not comparable")
        print(f"nbstripout: {theirs:.1f} s", flush=True)
        results.append(
            BenchResult(
                name=f"git add of {NOTEBOOKS} notebooks with outputs (filter, best)",
                measured_s=min(times["torchlane"]),
                anchor_s=theirs,
                anchor="nbstripout filter",
                target_ratio=0.02,
            )
        )
        return results


if __name__ == "__main__":
    for result in run():
        print(result.line())
