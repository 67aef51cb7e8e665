"""`git merge-tree --stdin` batches (flow/conflicts.py): the parser, and a batch that git stops
part-way (unrelated histories, a ref that vanished) still answers every branch like one
merge-tree per branch would."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Project, commit_file
from torchlane.flow.conflicts import (
    MergePrediction,
    _parse_batch,
    merge_in_parallel,
    merge_tree,
    merge_tree_batch,
)
from torchlane.git import Git

_paths = st.text(
    alphabet=st.characters(exclude_characters="\0", exclude_categories=["Cs"]), min_size=1
)
_predictions = st.lists(
    st.one_of(
        st.just(MergePrediction(False)),
        st.lists(_paths, min_size=1, max_size=4, unique=True).map(
            lambda files: MergePrediction(True, tuple(files))
        ),
    ),
    max_size=6,
)


def _render(predictions: list[MergePrediction]) -> str:
    out = ""
    for p in predictions:
        out += ("0" if p.conflict else "1") + "\0" + "ab" * 20 + "\0"
        out += "".join(f"{f}\0" for f in p.files) + "\0"
    return out


@settings(suppress_health_check=[HealthCheck.too_slow])  # generation is timed: a loaded machine
@given(_predictions, st.integers(min_value=0))
def test_parse_batch_reads_whole_records_and_never_a_cut_one(
    predictions: list[MergePrediction], cut: int
) -> None:
    out = _render(predictions)
    assert _parse_batch(out) == predictions
    prefix = out[: cut % (len(out) + 1)]
    parsed = _parse_batch(prefix)
    assert parsed == predictions[: len(parsed)]
    if len(prefix) < len(out):
        assert len(parsed) < len(predictions) or not predictions


def _branches(git: Git, prefix: str, count: int) -> list[str]:
    """develop with a.txt; `count` branches from it, every other one editing a.txt (those
    conflict once develop edits it too), the rest adding a file of their own."""
    git.run("switch", "--quiet", "develop")
    commit_file(git, "a.txt", "base\n")
    names = []
    for n in range(count):
        name = f"feature/{prefix}{n}"
        git.run("switch", "--quiet", "-c", name, "develop")
        commit_file(git, "a.txt" if n % 2 else f"own{n}.txt", f"branch {n}\n")
        names.append(name)
    return names


def test_a_batch_git_stops_answers_every_branch_like_single_merges(project: Project) -> None:
    git = project.git
    names = _branches(git, "b", 6)
    git.run("switch", "--quiet", "--orphan", "unrelated")
    commit_file(git, "u.txt", "unrelated\n")
    git.run("switch", "--quiet", "develop")
    commit_file(git, "a.txt", "develop\n")
    mixed = [names[0], "unrelated", names[1], "no-such-branch", *names[2:]]
    expected = {name: merge_tree(git, "develop", name) for name in mixed}
    assert expected["unrelated"].conflict is None
    assert expected["unrelated"].error
    assert expected["no-such-branch"].conflict is None
    assert [expected[n].conflict for n in names] == [False, True] * 3
    assert merge_tree_batch(git, "develop", mixed) == expected
    assert merge_in_parallel(git, "develop", mixed * 20, cores=3) == expected


def _loose_objects(git: Git) -> set[str]:
    objects = git.cwd / git.out("rev-parse", "--git-path", "objects")
    return {f"{d.name}{f.name}" for d in objects.glob("[0-9a-f][0-9a-f]") for f in d.iterdir()}


def test_merges_write_nothing_into_the_repository_and_read_its_alternates(
    project: Project, tmp_path: Path
) -> None:
    """The trees and conflicted files merge-tree builds go to a scratch object directory that
    is gone afterwards, and a clone that borrows its objects (`clone --shared`) merges alike."""
    git = project.git
    names = _branches(git, "w", 4)
    git.run("switch", "--quiet", "develop")
    commit_file(git, "a.txt", "develop\n")
    before = _loose_objects(git)
    found = merge_in_parallel(git, "develop", names, cores=2)
    assert _loose_objects(git) == before
    assert [found[n].conflict for n in names] == [False, True] * 2
    assert found["feature/w1"].files == ("a.txt",)
    shared = tmp_path / "shared"
    git.run("clone", "--quiet", "--shared", "--no-checkout", str(git.cwd), str(shared))
    borrower = Git(shared)
    for name in names:
        borrower.run("branch", "--quiet", name, f"origin/{name}")
    assert merge_in_parallel(borrower, "origin/develop", names, cores=2) == found
    assert _loose_objects(borrower) == set()
    assert merge_in_parallel(git, "develop", names, cores=2) == {
        name: merge_tree(git, "develop", name) for name in names
    }
