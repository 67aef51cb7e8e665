"""`git add` of 200 notebooks with outputs: torchlane's long-running filter vs nbstripout's filter.

nbstripout's filter is configured as `nbstripout --install` writes it (a clean command, so git
starts Python once per notebook); ours is installed by `torchlane nb install-filter` (one
process for the whole `git add`). Each side gets a fresh repository with the same files; only
`git add` is timed. Both must stage the same blobs (byte-identical stripping), or the benchmark
fails rather than compare different work.

Target: torchlane at most 1/50 of nbstripout's time (anchored on this machine kind: nbstripout
54.5 s, `git add` without a filter 0.12 s, stripping all 200 in one process 0.22 s).
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult

NOTEBOOKS = 200
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


def _env(home: Path) -> dict[str, str]:
    source = str(Path(__file__).resolve().parent.parent / "src")
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "PYTHONPATH": path,
        }
    )
    return env


def _timed_add(corpus: Path, repo: Path, setup: list[list[str]], env: dict[str, str]) -> float:
    shutil.copytree(corpus, repo)
    _git(repo, "init", "--quiet", env=env)
    for args in setup:
        _git(repo, *args, env=env)
    start = time.perf_counter()
    _git(repo, "add", "--all", env=env)
    return time.perf_counter() - start


def _staged(repo: Path, env: dict[str, str]) -> dict[str, str]:
    rows = _git(repo, "ls-files", "--stage", "--", "*.ipynb", env=env).splitlines()
    return {row.split("\t")[1]: row.split()[1] for row in rows}


def run(torchlane_repeats: int = 3) -> list[BenchResult]:
    with tempfile.TemporaryDirectory(prefix="bench-nbfilter-") as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        env = _env(home)
        corpus = root / "corpus"
        (corpus / "notebooks").mkdir(parents=True)
        for seed in range(NOTEBOOKS):
            (corpus / "notebooks" / f"run_{seed:03d}.ipynb").write_text(
                _notebook(seed), encoding="utf-8"
            )
        size = sum(p.stat().st_size for p in corpus.rglob("*.ipynb"))
        print(f"{NOTEBOOKS} notebooks, {size / 1e6:.1f} MB", flush=True)

        ours: list[float] = []
        ours_repo = root / "torchlane-0"
        for attempt in range(torchlane_repeats):
            ours_repo = root / f"torchlane-{attempt}"
            install = [
                sys.executable,
                "-m",
                "torchlane",
                "nb",
                "install-filter",
                "--repo",
                str(ours_repo),
            ]
            shutil.copytree(corpus, ours_repo)
            _git(ours_repo, "init", "--quiet", env=env)
            subprocess.run(install, env=env, check=True, capture_output=True)
            start = time.perf_counter()
            _git(ours_repo, "add", "--all", env=env)
            ours.append(time.perf_counter() - start)

        clean = f"{shlex.quote(sys.executable)} -m nbstripout"
        theirs_repo = root / "nbstripout"
        (corpus / ".gitattributes").write_text("*.ipynb filter=nbstripout\n", encoding="utf-8")
        theirs = _timed_add(
            corpus,
            theirs_repo,
            [
                ["config", "filter.nbstripout.clean", clean],
                ["config", "filter.nbstripout.smudge", "cat"],
                ["config", "filter.nbstripout.required", "true"],
            ],
            env,
        )
        if _staged(ours_repo, env) != _staged(theirs_repo, env):
            raise SystemExit("torchlane and nbstripout staged different blobs: not comparable")
        print(
            f"torchlane runs: {', '.join(f'{t:.2f} s' for t in ours)}; nbstripout: {theirs:.1f} s"
        )
        return [
            BenchResult(
                name=f"git add of {NOTEBOOKS} notebooks with outputs (filter)",
                measured_s=min(ours),
                anchor_s=theirs,
                anchor="nbstripout filter",
                target_ratio=0.02,
            )
        ]


if __name__ == "__main__":
    for result in run():
        print(result.line())
