"""Branches whose only doubt is files both sides edited are answered by one synthetic merge
(flow/content_merge.py); every answer must be git's own, attributes and configuration included.

Random histories of line edits (the same edit on both sides included), insertions, deletions,
mode changes, files turned into symlinks, additions and deletions, written with one
`git fast-import` stream; every branch's prediction is compared with `git merge-tree` itself.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.flow.git_answers import merge_tree_answer
from torchlane.flow.status import StatusReport, collect_status
from torchlane.git import Git
from torchlane.project import open_project

PATHS = ["a.py", "b.py", "src/c.py", "src/d.txt", "src/deep/e.py", "data/f.dat", "g.py"]


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


def _text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


class _Files:
    """path -> (mode, lines); a symlink's single line is its target."""

    def __init__(self, files: dict[str, tuple[str, list[str]]]):
        self.files = files

    def copy(self) -> _Files:
        return _Files({p: (m, list(lines)) for p, (m, lines) in self.files.items()})

    def op(self, path: str) -> str:
        mode, lines = self.files[path]
        return f"M {mode} inline {path}\n" + _data(_text(lines) if mode != "120000" else lines[0])

    def random_change(self, rng: random.Random) -> list[str]:
        kind = rng.choice(["edit"] * 6 + ["insert", "drop", "chmod", "symlink", "add", "delete"])
        path = rng.choice(sorted(self.files))
        mode, lines = self.files[path]
        if kind == "add":
            new = f"new/{rng.randrange(4)}.py"
            if new in self.files:
                return []
            self.files[new] = ("100644", [f"added {rng.randrange(3)}"])
            return [self.op(new)]
        if kind == "delete":
            del self.files[path]
            return [f"D {path}\n"]
        if mode == "120000":
            return []
        if kind == "edit":
            lines[rng.randrange(len(lines))] = rng.choice(["x = 1", "x = 2", "y = 3"])
        elif kind == "insert":
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(["# note", "pass"]))
        elif kind == "drop" and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
        elif kind == "chmod":
            mode = "100755" if mode == "100644" else "100644"
        elif kind == "symlink":
            mode, lines = "120000", [rng.choice(["a.py", "elsewhere"])]
        self.files[path] = (mode, lines)
        return [self.op(path)]


def _history(root: Path, seed: int, base_extra: dict[str, str], object_format: str) -> Git:
    rng = random.Random(seed)
    parts: list[str] = []
    mark = 0

    def commit(ref: str, parent: int | None, ops: list[str]) -> int:
        nonlocal mark
        mark += 1
        head = f"commit {ref}\nmark :{mark}\ncommitter T <t@example.com> {1_700_000_000 + mark} +0000\n"
        head += _data(f"change {mark}") + (f"from :{parent}\n" if parent else "")
        parts.append(head + "".join(ops) + "\n")
        return mark

    files = _Files({p: ("100644", [f"line {i} of {p}" for i in range(10)]) for p in PATHS})
    extra = [f"M 100644 inline {p}\n" + _data(text) for p, text in base_extra.items()]
    develop = commit("refs/heads/develop", None, [files.op(p) for p in PATHS] + extra)
    develop_files = files
    for n in range(14):
        for _ in range(rng.randint(0, 3)):
            develop = commit("refs/heads/develop", develop, develop_files.random_change(rng))
        branch, branch_files = develop, develop_files.copy()
        for _ in range(rng.randint(1, 3)):
            branch = commit(f"refs/heads/feature/edit-{n:02d}", branch,
                            branch_files.random_change(rng))  # fmt: skip
    for _ in range(6):
        develop = commit("refs/heads/develop", develop, develop_files.random_change(rng))
    commit("refs/heads/main", None, [])
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", f"--object-format={object_format}", "--initial-branch", "develop")
    git.run("fast-import", "--quiet", input="".join(parts))
    git.run("reset", "--quiet", "--hard", "develop")
    return git


def _assert_matches_git(git: Git, report: StatusReport) -> None:
    for status in report.branches:
        answer = merge_tree_answer(git, status.name)
        assert (status.conflict, sorted(status.conflict_files)) == answer, status.name


@pytest.mark.parametrize("seed", range(8))
def test_answers_match_merge_tree_on_random_edits(tmp_path: Path, seed: int) -> None:
    git = _history(tmp_path / "repo", seed, {}, "sha1")
    report = collect_status(open_project(git.cwd))
    _assert_matches_git(git, report)
    assert report.content_merged + report.merge_tree_runs <= len(report.branches)


def test_random_edits_reach_both_clean_and_conflicting_content_merges(tmp_path: Path) -> None:
    """The seeds above exercise the synthetic merge, with both outcomes."""
    clean = conflicted = merged_by_content = 0
    for seed in range(8):
        git = _history(tmp_path / f"repo{seed}", seed, {}, "sha1")
        report = collect_status(open_project(git.cwd))
        merged_by_content += report.content_merged
        clean += sum(1 for b in report.branches if b.conflict is False and b.ahead)
        conflicted += sum(1 for b in report.branches if b.conflict)
    assert merged_by_content >= 20
    assert clean
    assert conflicted


def test_sha256_repository(tmp_path: Path) -> None:
    git = _history(tmp_path / "repo", 3, {}, "sha256")
    report = collect_status(open_project(git.cwd))
    assert report.content_merged > 0
    _assert_matches_git(git, report)


@pytest.mark.parametrize(
    ("attributes", "all_to_real_merges"),
    [
        pytest.param("*.txt merge=union\n*.dat binary\n", False, id="drivers-for-some-paths"),
        pytest.param("t[0-9]* merge=union\n", True, id="a-pattern-the-synthetic-names-match"),
        pytest.param("* conflict-marker-size=9\n", True, id="every-path"),
    ],
)
def test_attributes_send_their_paths_to_the_real_merge(
    tmp_path: Path, attributes: str, all_to_real_merges: bool
) -> None:
    git = _history(tmp_path / "repo", 5, {".gitattributes": attributes}, "sha1")
    report = collect_status(open_project(git.cwd))
    _assert_matches_git(git, report)
    # Without the attributes, this history has branches answered by the synthetic merge.
    assert (report.content_merged == 0) is all_to_real_merges


def test_merge_renormalize_sends_every_branch_to_the_real_merge(tmp_path: Path) -> None:
    git = _history(tmp_path / "repo", 5, {}, "sha1")
    git.run("config", "merge.renormalize", "true")
    report = collect_status(open_project(git.cwd))
    assert report.content_merged == 0
    _assert_matches_git(git, report)


def test_the_repository_gains_no_objects(tmp_path: Path) -> None:
    git = _history(tmp_path / "repo", 2, {}, "sha1")
    before = git.out("count-objects", "-v")
    report = collect_status(open_project(git.cwd))
    assert report.content_merged > 0
    assert git.out("count-objects", "-v") == before
