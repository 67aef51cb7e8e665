"""`torchlane verify` on histories built the way `finish` builds them, and on broken ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Project, commit_file
from torchlane.errors import TorchlaneError
from torchlane.flow.verify import VerifyReport, verify_repository
from torchlane.git import Git
from torchlane.project import open_project


def _release(git: Git, kind: str, version: str, *, tag: str | None = "annotated") -> str:
    """What `torchlane finish` does: --no-ff into main, annotated tag, main back into develop."""
    base = "main" if kind == "hotfix" else "develop"
    branch = f"{kind}/v{version}"
    git.run("switch", "--quiet", "-c", branch, base)
    commit_file(git, "VERSION", f"{version}\n", f"Bump version to {version}")
    git.run("switch", "--quiet", "main")
    git.run("merge", "--quiet", "--no-ff", "-m", f"Merge {branch} into main", branch)
    if tag == "annotated":
        git.run("tag", "-a", f"v{version}", "-m", f"Release v{version}")
    elif tag == "lightweight":
        git.run("tag", f"v{version}")
    git.run("switch", "--quiet", "develop")
    git.run("merge", "--quiet", "--no-ff", "-m", f"Merge main (v{version}) into develop", "main")
    git.run("branch", "--quiet", "-D", branch)
    return git.out("rev-parse", "main")


def _feature(git: Git, name: str) -> None:
    git.run("switch", "--quiet", "-c", f"feature/{name}", "develop")
    commit_file(git, f"{name}.py", "x = 1\n")
    git.run("switch", "--quiet", "develop")
    git.run(
        "merge", "--quiet", "--no-ff", "-m", f"Merge feature/{name} into develop", f"feature/{name}"
    )
    git.run("branch", "--quiet", "-d", f"feature/{name}")


def _config_file(project: Project) -> Path:
    path = open_project(project.root).loaded.path
    assert path is not None
    return path


def _verify(project: Project) -> VerifyReport:
    return verify_repository(open_project(project.root))


def _rules(report: VerifyReport) -> list[str]:
    return [v.rule for v in report.violations]


def test_history_built_like_finish_passes(project: Project, cli) -> None:
    git = project.git
    _feature(git, "add-mixup")
    _release(git, "release", "1.0.0")
    _release(git, "hotfix", "1.0.1")
    _feature(git, "cosine-schedule")
    _release(git, "release", "1.1.0")
    report = _verify(project)
    assert report.ok, report.violations
    assert report.checked_main_commits == 3
    result = cli(["verify", "-C", str(project.root)])
    assert result.code == 0
    assert "the model was followed" in result.out


def test_fast_forward_onto_main(project: Project) -> None:
    git = project.git
    git.run("switch", "--quiet", "-c", "release/v1.0.0", "develop")
    commit_file(git, "VERSION", "1.0.0\n", "Bump version to 1.0.0")
    git.run("switch", "--quiet", "main")
    git.run("merge", "--quiet", "--ff-only", "release/v1.0.0")
    report = _verify(project)
    fast_forwards = [v for v in report.violations if v.rule == "not-a-merge"]
    assert [v.subject for v in fast_forwards] == [
        "Adopt the torchlane branch model",
        "Bump version to 1.0.0",
    ]
    assert all(v.commit for v in fast_forwards)
    assert "--no-ff" in fast_forwards[0].hint


def test_direct_commit_on_main(project: Project, cli) -> None:
    git = project.git
    git.run("switch", "--quiet", "main")
    sha = commit_file(git, "hack.py", "x = 1\n", "Quick fix straight on main")
    report = _verify(project)
    assert _rules(report) == ["not-a-merge", "develop-behind-main"]
    assert report.violations[0].commit == sha
    assert "hotfix" in report.violations[0].hint
    result = cli(["verify", "--json", "-C", str(project.root)])
    assert result.code == 1
    data = json.loads(result.out)
    assert data["ok"] is False
    assert data["violations"][0]["subject"] == "Quick fix straight on main"


def test_untagged_and_lightweight_release_merges(project: Project) -> None:
    git = project.git
    untagged = _release(git, "release", "1.0.0", tag=None)
    lightweight = _release(git, "release", "1.1.0", tag="lightweight")
    report = _verify(project)
    assert _rules(report) == ["untagged-release", "lightweight-tag"]
    assert report.violations[0].commit == untagged
    assert "git tag -a v1.0.0" in report.violations[0].hint
    assert report.violations[1].commit == lightweight


def test_tag_must_match_the_branch_version(project: Project) -> None:
    git = project.git
    _release(git, "release", "1.0.0", tag=None)
    git.run("tag", "-a", "v2.0.0", "main", "-m", "Release v2.0.0")
    assert _rules(_verify(project)) == ["tag-mismatch"]


def test_develop_missing_a_hotfix(project: Project, cli) -> None:
    git = project.git
    git.run("switch", "--quiet", "-c", "hotfix/v0.0.1", "main")
    commit_file(git, "fix.py", "fixed = True\n", "Fix crash")
    git.run("switch", "--quiet", "main")
    git.run("merge", "--quiet", "--no-ff", "-m", "Merge hotfix/v0.0.1 into main", "hotfix/v0.0.1")
    git.run("tag", "-a", "v0.0.1", "-m", "Hotfix v0.0.1")
    git.run("branch", "--quiet", "-D", "hotfix/v0.0.1")
    report = _verify(project)
    assert _rules(report) == ["develop-behind-main"]
    assert report.violations[0].subject == "Merge hotfix/v0.0.1 into main"
    assert "git merge --no-ff main" in report.violations[0].hint
    result = cli(["verify", "-C", str(project.root)])
    assert result.code == 1
    assert "develop-behind-main" in result.err


def test_feature_merged_into_main(project: Project) -> None:
    git = project.git
    git.run("switch", "--quiet", "-c", "feature/skip-the-queue", "develop")
    commit_file(git, "q.py", "q = 1\n")
    git.run("switch", "--quiet", "main")
    git.run(
        "merge",
        "--quiet",
        "--no-ff",
        "-m",
        "Merge branch 'feature/skip-the-queue'",
        "feature/skip-the-queue",
    )
    git.run("switch", "--quiet", "develop")
    git.run("merge", "--quiet", "--no-ff", "-m", "Sync", "main")
    assert _rules(_verify(project)) == ["not-a-release"]


def test_bad_branch_name(project: Project) -> None:
    project.git.run("branch", "tmp", "develop")
    report = _verify(project)
    assert _rules(report) == ["branch-name"]
    assert report.violations[0].branch == "tmp"
    assert "git branch -m tmp feature/" in report.violations[0].hint


def test_history_before_adoption_is_not_judged(project: Project) -> None:
    git = project.git
    git.run("switch", "--quiet", "main")
    commit_file(git, "old.py", "legacy = True\n", "Legacy direct commit")
    git.run("switch", "--quiet", "develop")
    git.run("merge", "--quiet", "--no-ff", "-m", "Sync", "main")
    assert "not-a-merge" in _rules(_verify(project))
    sha = git.out("rev-parse", "main")
    pyproject = _config_file(project)
    text = pyproject.read_text(encoding="utf-8")
    adopted = open_project(project.root).config.flow.adopted_at
    assert adopted is not None
    pyproject.write_text(text.replace(adopted, sha), encoding="utf-8")
    report = _verify(project)
    assert report.ok, report.violations
    assert report.since == sha


def test_without_adoption_point_history_is_checked_from_the_root(project: Project) -> None:
    pyproject = _config_file(project)
    lines = pyproject.read_text(encoding="utf-8").splitlines()
    pyproject.write_text(
        "\n".join(ln for ln in lines if "adopted_at" not in ln) + "\n", encoding="utf-8"
    )
    report = _verify(project)
    assert report.since == "the root commit"
    assert report.ok  # the root commit itself is exempt
    assert report.checked_main_commits == 1


def test_adoption_point_that_is_not_on_main_is_an_error(project: Project) -> None:
    pyproject = _config_file(project)
    adopted = open_project(project.root).config.flow.adopted_at
    assert adopted is not None
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(adopted, "0" * 40), encoding="utf-8"
    )
    with pytest.raises(TorchlaneError, match="adopted_at") as caught:
        _verify(project)
    assert caught.value.hint is not None


def test_ci_checkout_uses_remote_tracking_branches(project: Project, tmp_path: Path, cli) -> None:
    git = project.git
    _release(git, "release", "1.0.0")
    git.run("push", "--quiet", "origin", "main", "develop", "v1.0.0")
    checkout = tmp_path / "ci"
    Git(tmp_path).run("clone", "--quiet", "--branch", "develop", str(project.origin), str(checkout))
    assert not Git(checkout).branch_exists("main")
    result = cli(["verify", "--json", "-C", str(checkout)])
    assert result.code == 0, result.out + result.err
    assert json.loads(result.out)["checked_main_commits"] == 1


def test_shallow_clone_is_told_to_fetch_history(project: Project, tmp_path: Path) -> None:
    git = project.git
    _release(git, "release", "1.0.0")
    git.run("push", "--quiet", "origin", "main", "develop", "v1.0.0")
    checkout = tmp_path / "shallow"
    Git(tmp_path).run(
        "clone", "--quiet", "--depth", "1", "--no-single-branch",
        f"file://{project.origin}", str(checkout),
    )  # fmt: skip
    with pytest.raises(TorchlaneError, match="adopted_at") as caught:
        verify_repository(open_project(checkout))
    assert "fetch-depth: 0" in (caught.value.hint or "")
