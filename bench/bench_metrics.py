"""Reading metrics along history: one batched read vs one `git notes show` per commit.

`metrics log`, `report --chart/--tensorboard` and the baseline search read the records of
hundreds of develop commits. The anchor is what a script (or a per-commit reader) does: one
`git notes show` per commit. Target: at most 0.1x the anchor for 500 commits.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from bench.common import BenchResult, best_time
from torchlane.git import Git
from torchlane.metrics.store import DEFAULT_NOTES_REF, read_many

COMMITS = 500


def build_history(root: Path, count: int = COMMITS) -> tuple[Git, list[str]]:
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "develop")
    stream = []
    for i in range(count):
        message = f"step {i}"
        content = f"{i}\n"
        stream += [
            "commit refs/heads/develop",
            f"mark :{i + 1}",
            f"committer Bench <bench@example.com> {1_700_000_000 + i} +0000",
            f"data {len(message)}",
            message,
            *([f"from :{i}"] if i else []),
            f"M 644 inline model.txt\ndata {len(content)}\n{content}",
            "",
        ]
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=root, input="\n".join(stream) + "\n",
        text=True, check=True,
    )  # fmt: skip
    commits = git.lines("rev-list", "--first-parent", "develop")
    notes = ["commit " + DEFAULT_NOTES_REF, "committer Bench <bench@example.com> 1800000000 +0000",
             "data 5", "notes"]  # fmt: skip
    for i, commit in enumerate(commits):
        record = {"commit": commit, "metrics": {"accuracy": i / count}, "created_at": str(i)}
        line = json.dumps(record) + "\n"
        notes += [f"N inline {commit}", f"data {len(line)}", line]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input="\n".join(notes) + "\n",
                   text=True, check=True)  # fmt: skip
    return git, commits


def run() -> list[BenchResult]:
    with tempfile.TemporaryDirectory() as folder:
        git, commits = build_history(Path(folder))
        found = read_many(git, commits)
        assert len(found) == COMMITS
        assert not any(r.problems for r in found.values())

        def anchor() -> None:
            for commit in commits:
                git.run("notes", "--ref", DEFAULT_NOTES_REF, "show", commit)

        measured = best_time(lambda: read_many(git, commits), repeat=3)
        anchor_s = best_time(anchor, repeat=1)
    return [
        BenchResult(
            f"read records of {COMMITS} develop commits",
            measured,
            anchor_s,
            "a `git notes show` per commit",
            0.1,
        )
    ]
