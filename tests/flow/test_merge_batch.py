"""`git merge-tree --stdin` batches (flow/conflicts.py): the parser, and a batch that git stops
part-way (unrelated histories, a ref that vanished) still answers every branch like one
merge-tree per branch would."""

from __future__ import annotations

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


def test_a_batch_git_stops_answers_every_branch_like_single_merges(project: Project) -> None:
    git = project.git
    git.run("switch", "--quiet", "develop")
    commit_file(git, "a.txt", "base\n")
    names = []
    for n in range(6):
        name = f"feature/b{n}"
        git.run("switch", "--quiet", "-c", name, "develop")
        commit_file(git, "a.txt" if n % 2 else f"own{n}.txt", f"branch {n}\n")
        names.append(name)
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
