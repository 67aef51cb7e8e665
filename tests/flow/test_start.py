"""`torchlane start`: every branch type, from the right base, with the guards that matter."""

from __future__ import annotations

import pytest

from tests.conftest import Project, commit_file
from torchlane.errors import EXIT_USAGE, TorchlaneError
from torchlane.flow.start import StartResult, start_branch
from torchlane.git import Git
from torchlane.naming import BranchType
from torchlane.project import open_project


def _start(project: Project, kind: str, name: str) -> StartResult:
    return start_branch(open_project(project.root), kind, name)


@pytest.mark.parametrize(
    ("kind", "name", "branch", "base"),
    [
        ("feature", "add-mixup", "feature/add-mixup", "develop"),
        ("feature", "feature/add-mixup", "feature/add-mixup", "develop"),
        ("bugfix", "loader-crash", "bugfix/loader-crash", "develop"),
        ("refactor", "split-trainer", "refactor/split-trainer", "develop"),
        ("release", "1.0.0", "release/v1.0.0", "develop"),
        ("release", "v1.0.0", "release/v1.0.0", "develop"),
        ("release", "1.0.0-rc.1", "release/v1.0.0-rc.1", "develop"),
        ("hotfix", "0.0.1", "hotfix/v0.0.1", "main"),
    ],
)
def test_every_type_starts_from_its_base(
    project: Project, kind: str, name: str, branch: str, base: str
) -> None:
    git = project.git
    git.run("switch", "--quiet", "develop")
    commit_file(git, "develop-only.txt", "x\n")  # develop and main differ
    result = _start(project, kind, name)
    assert result.branch == branch
    assert result.type is BranchType(kind)
    assert result.base == base
    assert git.current_branch() == branch
    assert git.out("rev-parse", "HEAD") == git.out("rev-parse", base) == result.base_commit
    assert git.config_get(f"branch.{branch}.merge") is None  # no upstream to the base
    assert result.warnings == ()


def test_unknown_type_is_a_usage_error(project: Project) -> None:
    with pytest.raises(TorchlaneError) as caught:
        _start(project, "experiment", "try-things")
    assert caught.value.exit_code == EXIT_USAGE
    assert "feature, bugfix, refactor, release, hotfix" in (caught.value.hint or "")


@pytest.mark.parametrize("version", ["1.2", "v1", "one.two.three", "1.2.3.4", "01.2.3"])
def test_invalid_semver(project: Project, version: str) -> None:
    with pytest.raises(TorchlaneError, match="not a semantic version") as caught:
        _start(project, "release", version)
    assert "MAJOR.MINOR.PATCH" in (caught.value.hint or "")
    assert project.git.branches("release/") == []


@pytest.mark.parametrize("version", ["1.2.0", "1.1.9", "1.2.0-rc.1"])
def test_version_must_be_greater_than_the_latest_tag(project: Project, version: str) -> None:
    project.git.run("tag", "-a", "v1.2.0", "main", "-m", "Release v1.2.0")
    with pytest.raises(
        TorchlaneError, match=r"not greater than the latest release v1\.2\.0"
    ) as caught:
        _start(project, "release", version)
    assert "1.3.0" in (caught.value.hint or "")
    assert "1.2.1" in (caught.value.hint or "")


def test_second_release_is_refused_unless_configured(project: Project) -> None:
    git = project.git
    _start(project, "release", "1.0.0")
    git.run("switch", "--quiet", "develop")
    with pytest.raises(TorchlaneError, match=r"already open: 'release/v1\.0\.0'") as caught:
        _start(project, "release", "1.1.0")
    assert "allow_parallel_releases" in (caught.value.hint or "")
    with pytest.raises(TorchlaneError, match="already being prepared"):
        _start(project, "hotfix", "1.0.0")
    config = project.root / ".torchlane.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + "allow_parallel_releases = true\n", encoding="utf-8"
    )
    git.run("commit", "--quiet", "-am", "Allow parallel releases")
    assert _start(project, "release", "1.1.0").branch == "release/v1.1.0"


def test_dirty_tree_is_refused(project: Project) -> None:
    git = project.git
    git.run("switch", "--quiet", "develop")
    commit_file(git, "train.py", "epochs = 1\n")
    (project.root / "train.py").write_text("epochs = 2\n", encoding="utf-8")
    with pytest.raises(TorchlaneError, match=r"uncommitted changes \(train.py\)"):
        _start(project, "feature", "more-epochs")
    assert git.current_branch() == "develop"
    assert not git.branch_exists("feature/more-epochs")


def test_untracked_files_do_not_block(project: Project) -> None:
    (project.root / "scratch.ipynb").write_text("{}", encoding="utf-8")
    assert _start(project, "feature", "notebook-idea").branch == "feature/notebook-idea"


def test_existing_branch(project: Project) -> None:
    project.git.run("branch", "feature/add-mixup", "develop")
    with pytest.raises(TorchlaneError, match="already exists") as caught:
        _start(project, "feature", "add-mixup")
    assert "git switch feature/add-mixup" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("kind", "name", "suggested"),
    [
        ("feature", "Add_Mixup", "add-mixup"),
        ("feature", "fix", "describe-the-change"),
        ("bugfix", "NaN loss", "nan-loss"),
        ("refactor", "splitTrainerGPU", "split-trainer-gpu"),
    ],
)
def test_bad_names_come_with_a_suggestion(
    project: Project, kind: str, name: str, suggested: str
) -> None:
    with pytest.raises(TorchlaneError, match="breaks the naming conventions") as caught:
        _start(project, kind, name)
    assert f"torchlane start {kind} {suggested}" in (caught.value.hint or "")


def test_warns_when_base_is_behind_origin(project: Project, tmp_path) -> None:
    other = tmp_path / "teammate"
    Git(tmp_path).run("clone", "--quiet", "--branch", "develop", str(project.origin), str(other))
    teammate = Git(other)
    commit_file(teammate, "theirs.py", "x = 1\n")
    teammate.run("push", "--quiet", "origin", "develop")
    project.git.run("fetch", "--quiet", "origin")
    result = _start(project, "feature", "my-own-work")
    assert len(result.warnings) == 1
    assert "behind origin/develop" in result.warnings[0]
    assert result.base_commit != project.git.out("rev-parse", "origin/develop")


def test_requires_the_branch_model(tmp_path) -> None:
    git = Git(tmp_path)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "a.txt", "a\n")
    with pytest.raises(TorchlaneError, match="'develop' does not exist") as caught:
        start_branch(open_project(tmp_path), "feature", "add-mixup")
    assert "torchlane init" in (caught.value.hint or "")


def test_start_cli_prints_the_new_branch(project: Project, cli) -> None:
    result = cli(["start", "feature", "add-mixup", "-C", str(project.root)])
    assert result.code == 0, result.err
    assert "feature/add-mixup" in result.out
    bad = cli(["start", "feature", "tmp", "-C", str(project.root)])
    assert bad.code == 1
    assert "hint: Try `torchlane start feature" in bad.err


@pytest.mark.parametrize("hotfix", ["1.0.1", "2.0.0"])
def test_a_hotfix_may_not_overtake_an_open_release(project: Project, hotfix: str) -> None:
    project.git.run("tag", "-a", "v0.9.0", "main", "-m", "Release v0.9.0")
    _start(project, "release", "1.0.0")
    project.git.run("switch", "--quiet", "develop")
    before = project.git.lines("for-each-ref")
    with pytest.raises(TorchlaneError, match=r"would overtake the open release 1\.0\.0") as caught:
        _start(project, "hotfix", hotfix)
    assert "below 1.0.0" in (caught.value.hint or "")
    assert project.git.lines("for-each-ref") == before
    assert _start(project, "hotfix", "0.9.1").branch == "hotfix/v0.9.1"  # below it is git-flow
