"""`notes_ref` must be under refs/notes/: anything else is refused when the settings load, before
anything is written (with "refs/heads/develop", notes commits would land on the develop branch)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import commit_file
from torchlane.errors import TorchlaneError
from torchlane.notes import full_notes_ref, notes_ref_problem
from torchlane.project import open_project


def _refs(project) -> str:
    return project.git.out("for-each-ref", "--format=%(refname) %(objectname)")


@pytest.mark.parametrize("section", ["metrics", "repro"])
def test_a_branch_as_notes_ref_is_refused_at_load_time_and_nothing_is_written(
    project, cli, section: str
) -> None:
    git = project.git
    git.run("checkout", "--quiet", "develop")
    commit_file(git, "model.py", "x")
    (project.root / ".torchlane.toml").write_text(
        f'[{section}]\nnotes_ref = "refs/heads/develop"\n', encoding="utf-8"
    )
    before = _refs(project)
    with pytest.raises(TorchlaneError) as caught:
        open_project(project.root)
    assert "notes_ref must name a ref under refs/notes/" in caught.value.message
    assert "'refs/heads/develop'" in caught.value.message
    # The commands that write notes refuse before they write.
    root = str(project.root)
    for args in (
        ["run", "-C", root, "--", "true"],
        ["metrics", "push", "-C", root],
        ["eval", "-C", root],
    ):
        result = cli(args)
        assert result.code != 0, args
        assert "notes_ref must name a ref under refs/notes/" in result.err, args
    assert _refs(project) == before


def test_notes_ref_option_is_checked_like_the_setting(project, cli) -> None:
    result = cli(["metrics", "show", "--notes-ref", "refs/tags/v1", "-C", str(project.root)])
    assert result.code != 0
    assert "--notes-ref: notes_ref must name a ref under refs/notes/" in result.err
    assert "hint:" in result.err


@pytest.mark.parametrize(
    ("ref", "ok"),
    [
        ("refs/notes/torchlane", True),
        ("torchlane", True),
        ("team/metrics", True),
        ("refs/heads/develop", False),
        ("refs/tags/v1.0.0", False),
        ("refs/notes/", False),
        ("refs/notes/remotes/origin/torchlane", False),
        ("refs/notes/torchlane-scratch/1", False),
        ("refs/notes/a..b", False),
        ("refs/notes/x.lock", False),
        ("refs/notes/with space", False),
    ],
)
def test_notes_ref_problem(ref: str, ok: bool) -> None:
    assert (notes_ref_problem(ref) is None) == ok


@given(st.text(alphabet="abcXYZ09-_./~^:@{ ", max_size=24))
def test_every_accepted_notes_ref_is_under_refs_notes_and_valid_for_git(name: str) -> None:
    import subprocess

    if notes_ref_problem(name) is not None:
        return
    full = full_notes_ref(name.strip())
    assert full.startswith("refs/notes/")
    assert full != "refs/notes/"
    checked = subprocess.run(["git", "check-ref-format", full], check=False)
    assert checked.returncode == 0, full
