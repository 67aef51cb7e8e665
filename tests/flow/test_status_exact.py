"""The merge-conflict prefilter must never call a conflicting branch clean.

Random histories of file edits, additions, deletions, file and directory renames, and files
replaced by directories (and back), written with one `git fast-import` stream; every branch's
prediction is compared with `git merge-tree` itself.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.flow.git_answers import merge_tree_answer
from torchlane.flow.status import collect_status
from torchlane.git import Git
from torchlane.project import open_project

NAMES = ["a", "b", "c", "data", "model"]


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


class _History:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.parts: list[str] = []
        self.mark = 0
        self.when = 1_700_000_000

    def commit(self, ref: str, parent: int | None, ops: list[str]) -> int:
        self.mark += 1
        self.when += 60
        head = f"commit {ref}\nmark :{self.mark}\ncommitter T <t@example.com> {self.when} +0000\n"
        head += _data(f"change {self.mark}")
        if parent is not None:
            head += f"from :{parent}\n"
        self.parts.append(head + "".join(ops) + "\n")
        return self.mark

    def random_ops(self, files: dict[str, str]) -> list[str]:
        """One random change to `files` (path -> content), as fast-import commands."""
        rng = self.rng
        kind = rng.choice(
            ["modify", "modify", "add", "delete", "rename", "move-dir", "file-to-dir"]
        )
        existing = sorted(files)
        if kind == "modify" and existing:
            path = rng.choice(existing)
            files[path] = rng.choice(["1\n", "2\n", "3\n"])
            return [f"M 100644 inline {path}\n" + _data(files[path])]
        if kind == "delete" and existing:
            path = rng.choice(existing)
            del files[path]
            return [f"D {path}\n"]
        if kind == "rename" and existing:
            path = rng.choice(existing)
            target = "/".join(rng.sample(NAMES, rng.randint(1, 2))) + ".py"
            if target in files or any(p.startswith(target + "/") for p in files):
                return []
            if any(target.startswith(p + "/") for p in files):
                return []
            files[target] = files.pop(path)
            return [f"R {path} {target}\n"]
        if kind == "move-dir":
            dirs = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
            if not dirs:
                return []
            source = rng.choice(dirs)
            target = rng.choice(NAMES) + "2"
            if any(p == target or p.startswith(target + "/") for p in files):
                return []
            moved = {p: target + p[len(source) :] for p in files if p.startswith(source + "/")}
            for old, new in moved.items():
                files[new] = files.pop(old)
            return [f"R {source} {target}\n"]
        if kind == "file-to-dir" and existing:
            path = rng.choice(existing)
            del files[path]
            inner = f"{path}/inner.py"
            files[inner] = "dir\n"
            return [f"D {path}\n", f"M 100644 inline {inner}\n" + _data("dir\n")]
        path = "/".join(rng.sample(NAMES, rng.randint(1, 3)))
        if path in files or any(
            p.startswith(path + "/") or path.startswith(p + "/") for p in files
        ):
            return []
        files[path] = rng.choice(["1\n", "2\n"])
        return [f"M 100644 inline {path}\n" + _data(files[path])]


def _random_repository(root: Path, seed: int, branches: int = 12) -> Git:
    rng = random.Random(seed)
    history = _History(rng)
    files = {"a/x.py": "1\n", "a/b/z.py": "1\n", "c/w.py": "1\n", "model.py": "1\n", "top": "1\n"}
    ops = [f"M 100644 inline {p}\n" + _data(c) for p, c in files.items()]
    root_mark = history.commit("refs/heads/main", None, ops)
    develop, develop_files = root_mark, dict(files)
    for n in range(branches):
        for _ in range(rng.randint(0, 2)):
            develop = history.commit(
                "refs/heads/develop", develop, history.random_ops(develop_files)
            )
        branch, branch_files = develop, dict(develop_files)
        for _ in range(rng.randint(1, 3)):
            branch = history.commit(
                f"refs/heads/feature/random-change-{n:02d}",
                branch,
                history.random_ops(branch_files),
            )
    for _ in range(4):
        develop = history.commit("refs/heads/develop", develop, history.random_ops(develop_files))
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "develop")
    git.run("fast-import", "--quiet", input="".join(history.parts))
    git.run("reset", "--quiet", "--hard", "develop")
    return git


@pytest.mark.parametrize("seed", range(6))
def test_prediction_matches_merge_tree_on_random_histories(tmp_path: Path, seed: int) -> None:
    git = _random_repository(tmp_path / "repo", seed)
    report = collect_status(open_project(git.cwd))
    for status in report.branches:
        conflict, files = merge_tree_answer(git, status.name)
        assert status.conflict is conflict, (seed, status.name)
        assert sorted(status.conflict_files) == files, (seed, status.name)
        behind, ahead = git.out(
            "rev-list", "--left-right", "--count", f"develop...{status.name}"
        ).split()
        assert (status.ahead, status.behind) == (int(ahead), int(behind))


def _scenario(root: Path, develop_ops: list[str], branch_ops: list[str]) -> Git:
    """Base files d/x.py and top.py; develop and feature/the-change each make one commit."""
    history = _History(random.Random(0))
    base = history.commit(
        "refs/heads/main", None,
        [f"M 100644 inline {p}\n" + _data("1\n") for p in ("d/x.py", "top.py")],
    )  # fmt: skip
    history.commit("refs/heads/develop", base, develop_ops)
    history.commit("refs/heads/feature/the-change", base, branch_ops)
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "develop")
    git.run("fast-import", "--quiet", input="".join(history.parts))
    git.run("reset", "--quiet", "--hard", "develop")
    return git


def _add(path: str) -> str:
    return f"M 100644 inline {path}\n" + _data("new\n")


@pytest.mark.parametrize(
    ("develop_ops", "branch_ops"),
    [
        # Only one side's paths name the clash; each case needs a different rule of the filter.
        pytest.param([_add("new")], [_add("new/inner.py")], id="file-where-branch-has-dir"),
        pytest.param([_add("new/inner.py")], [_add("new")], id="dir-where-branch-has-file"),
        pytest.param(["R d e\n"], [_add("d/added.py")], id="develop-renamed-dir"),
        pytest.param([_add("d/added.py")], ["R d e\n"], id="branch-renamed-dir"),
    ],
)
def test_conflicts_that_only_one_side_names(
    tmp_path: Path, develop_ops: list[str], branch_ops: list[str]
) -> None:
    git = _scenario(tmp_path / "repo", develop_ops, branch_ops)
    status = collect_status(open_project(git.cwd)).branches[0]
    merged = git.run(
        "merge-tree", "--write-tree", "--name-only", "develop", status.name, check=False
    )
    assert merged.returncode == 1  # git does report a conflict here
    assert status.conflict is True
