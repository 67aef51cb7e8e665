"""`torchlane init` on the repositories people actually have."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import commit_file
from torchlane.config.load import load_config
from torchlane.errors import TorchlaneError
from torchlane.flow.init import init_repository
from torchlane.git import Git


def _repo(path: Path, branch: str = "main") -> Git:
    path.mkdir(parents=True, exist_ok=True)
    git = Git(path)
    git.run("init", "--quiet", "--initial-branch", branch)
    return git


def _committed_on(git: Git, branch: str, path: str) -> bool:
    return git.succeeds("cat-file", "-e", f"{branch}:{path}")


def test_new_directory(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    target.mkdir()
    result = init_repository(target)
    git = Git(target)
    assert git.branch_exists("main")
    assert git.branch_exists("develop")
    assert git.current_branch() == "develop"
    assert result.config_path == target / ".torchlane.toml"
    assert result.committed
    assert _committed_on(git, "develop", ".torchlane.toml")
    assert not _committed_on(git, "main", ".torchlane.toml")
    assert git.dirty_paths() == []
    loaded = load_config(target)
    assert loaded.config.flow.adopted_at == git.out("rev-parse", "main")
    assert any("created a git repository" in a for a in result.actions)


def test_empty_repository_keeps_staged_files_staged(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    (git.cwd / "train.py").write_text("epochs = 3\n", encoding="utf-8")
    git.run("add", "train.py")
    init_repository(git.cwd)
    assert git.is_empty() is False
    assert not _committed_on(git, "main", "train.py")
    assert not _committed_on(git, "develop", "train.py")
    staged = git.lines("diff", "--cached", "--name-only")
    assert staged == ["train.py"]
    assert _committed_on(git, "develop", ".torchlane.toml")


def test_existing_repository_with_main_and_pyproject(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(
        git,
        "pyproject.toml",
        '[project]\nname = "net"\n\n# our tools\n[tool.black]\nline-length = 100\n',
    )
    main_before = git.out("rev-parse", "main")
    result = init_repository(git.cwd)
    assert result.config_path == git.cwd / "pyproject.toml"
    assert git.out("rev-parse", "main") == main_before  # main is never touched
    text = (git.cwd / "pyproject.toml").read_text(encoding="utf-8")
    assert "# our tools" in text
    assert "line-length = 100" in text
    assert "[tool.torchlane.branches]" in text
    assert git.out("log", "-1", "--format=%s", "develop") == "Adopt the torchlane branch model"
    assert git.out("rev-parse", "develop^") == main_before


def test_repository_with_master_only(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work", branch="master")
    commit_file(git, "README.md", "# old\n")
    result = init_repository(git.cwd)
    assert result.main == "master"
    assert not git.branch_exists("main")
    assert load_config(git.cwd).config.branches.main == "master"
    assert git.out("rev-parse", "develop^") == git.out("rev-parse", "master")


def test_master_is_used_when_only_develop_is_configured(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work", branch="master")
    commit_file(git, ".torchlane.toml", '[branches]\ndevelop = "integration"\n')
    result = init_repository(git.cwd, force=True)
    assert (result.main, result.develop) == ("master", "integration")
    assert git.branch_exists("integration")


def test_configured_main_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work", branch="trunk")
    commit_file(git, ".torchlane.toml", '[branches]\nmain = "production"\n')
    with pytest.raises(TorchlaneError, match="no branch 'production'") as caught:
        init_repository(git.cwd)
    assert caught.value.hint is not None


def test_develop_from_origin(tmp_path: Path) -> None:
    origin = _repo(tmp_path / "origin")
    commit_file(origin, "README.md", "# shared\n")
    origin.run("branch", "develop")
    origin.run("switch", "--quiet", "develop")
    develop_tip = commit_file(origin, "model.py", "layers = 2\n")
    origin.run("switch", "--quiet", "main")
    clone = tmp_path / "clone"
    Git(tmp_path).run("clone", "--quiet", str(origin.cwd), str(clone))
    git = Git(clone)
    assert not git.branch_exists("develop")
    result = init_repository(clone)
    assert git.out("rev-parse", "develop^") == develop_tip
    assert any("origin/develop" in a for a in result.actions)


def test_existing_config_is_kept_without_force(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(
        git, ".torchlane.toml", '[flow]\nversion_tag_prefix = "rel-"\nstale_after_days = 30\n'
    )
    before = (git.cwd / ".torchlane.toml").read_text(encoding="utf-8")
    result = init_repository(git.cwd)
    after = (git.cwd / ".torchlane.toml").read_text(encoding="utf-8")
    assert after.startswith(before)  # kept; only the commented eval section is appended
    assert all(line.startswith("#") for line in after[len(before) :].splitlines() if line)
    assert not result.committed
    assert any("kept the existing configuration" in a for a in result.actions)
    assert git.branch_exists("develop")


def test_force_rewrites_our_keys_and_keeps_the_others(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(
        git,
        ".torchlane.toml",
        '# team settings\n[flow]\nversion_tag_prefix = "rel-"\nstale_after_days = 30\n',
    )
    result = init_repository(git.cwd, force=True)
    assert result.committed
    text = (git.cwd / ".torchlane.toml").read_text(encoding="utf-8")
    assert "# team settings" in text
    config = load_config(git.cwd).config
    assert config.flow.stale_after_days == 30
    assert config.flow.version_tag_prefix == "rel-"
    assert config.flow.adopted_at == git.out("rev-parse", "main")
    assert config.branches.develop == "develop"
    assert _committed_on(git, "develop", ".torchlane.toml")


def test_no_commit_writes_but_does_not_commit(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, "README.md", "# x\n")
    result = init_repository(git.cwd, commit=False)
    assert not result.committed
    assert (git.cwd / ".torchlane.toml").is_file()
    assert not _committed_on(git, "develop", ".torchlane.toml")
    assert git.out("rev-parse", "develop") == git.out("rev-parse", "main")


def test_dirty_tree_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, "train.py", "epochs = 1\n")
    (git.cwd / "train.py").write_text("epochs = 2\n", encoding="utf-8")
    with pytest.raises(TorchlaneError, match="uncommitted changes") as caught:
        init_repository(git.cwd)
    assert "git stash" in (caught.value.hint or "")
    assert not git.branch_exists("develop")
    assert not (git.cwd / ".torchlane.toml").exists()
    assert (git.cwd / "train.py").read_text(encoding="utf-8") == "epochs = 2\n"


def test_invalid_existing_config_is_refused_before_anything_changes(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, ".torchlane.toml", "[flow]\nstale_after_days = -1\n")
    with pytest.raises(TorchlaneError, match="stale_after_days"):
        init_repository(git.cwd)
    assert not git.branch_exists("develop")


def test_init_cli_json(tmp_path: Path, cli) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, "README.md", "# x\n")
    result = cli(["init", "--json", "-C", str(git.cwd)])
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["develop"] == "develop"
    assert data["committed"] is True
    again = cli(["init", "-C", str(git.cwd)])
    assert again.code == 0
    assert "kept the existing configuration" in again.out


def test_init_runs_as_a_module(tmp_path: Path) -> None:
    import subprocess

    git = _repo(tmp_path / "work")
    commit_file(git, "README.md", "# x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane", "init", "-C", str(git.cwd)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Branch model ready" in proc.stdout


@pytest.mark.slow
def test_a_later_pyproject_table_does_not_silently_hide_the_fallback_file(tmp_path: Path) -> None:
    # The reported sequence: init on a `master` repository writes .torchlane.toml, then the user
    # commits a pyproject.toml with [tool.torchlane.env] as docs/environments.md says.
    git = _repo(tmp_path / "work", branch="master")
    commit_file(git, "train.py", "epochs = 3\n")
    init_repository(git.cwd)
    assert load_config(git.cwd).config.branches.main == "master"
    commit_file(git, "pyproject.toml", '[tool.torchlane.env]\npython = "3.11"\n')
    for args in (["verify"], ["start", "hotfix", "1.0.1"], ["env", "check"], ["check-name"]):
        proc = subprocess.run(
            [sys.executable, "-m", "torchlane", *args],
            cwd=git.cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "Both pyproject.toml" in proc.stderr, args
        assert ".torchlane.toml" in proc.stderr, args
        assert "Traceback" not in proc.stderr
        assert "no branch 'main'" not in proc.stderr


def test_init_writes_into_pyproject_and_flags_a_leftover_fallback_file(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    (git.cwd / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    (git.cwd / ".torchlane.toml").write_text("", encoding="utf-8")
    result = init_repository(git.cwd, commit=False)
    assert result.config_path == git.cwd / "pyproject.toml"
    assert "[tool.torchlane.branches]" in (git.cwd / "pyproject.toml").read_text("utf-8")
    assert any(".torchlane.toml" in a and "delete" in a for a in result.actions)


def test_existing_repository_scaffold_is_complete_and_idempotent(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, "train.py", "epochs = 3\n")
    commit_file(git, ".gitignore", "__pycache__/\n.venv\n")
    result = init_repository(git.cwd)
    config = (git.cwd / ".torchlane.toml").read_text(encoding="utf-8")
    assert "# [eval]" in config
    assert 'checkpoint_command = "python train.py"' in config
    assert "train scripts ['train.py']" in config
    ignored = (git.cwd / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ignored[:2] == ["__pycache__/", ".venv"]  # the user's lines untouched
    assert "ci-artifacts/" in ignored
    assert ".venv/" not in ignored
    assert _committed_on(git, "develop", ".gitignore")
    assert git.dirty_paths() == []
    assert any(c.startswith("torchlane eval") for c in result.next_commands)
    loaded = load_config(git.cwd)
    assert loaded.config.eval.model is None  # commented: the defaults still hold
    head = git.out("rev-parse", "HEAD")
    snapshot = {p: (git.cwd / p).read_bytes() for p in (".torchlane.toml", ".gitignore")}
    again = init_repository(git.cwd)
    assert git.out("rev-parse", "HEAD") == head
    assert {p: (git.cwd / p).read_bytes() for p in snapshot} == snapshot
    assert not any("added" in a for a in again.actions)


def test_pyproject_scaffold_keeps_user_content_and_hooks_need_consent(tmp_path: Path) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, "pyproject.toml", '[project]\nname = "demo"  # mine\n')
    commit_file(git, "scripts/evaluate.py", "print(1)\n")
    init_repository(git.cwd)
    text = (git.cwd / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith('[project]\nname = "demo"  # mine\n')
    assert "# [tool.torchlane.eval]" in text
    assert 'entry = "scripts.evaluate:evaluate"' in text
    assert not (git.cwd / ".git" / "hooks" / "pre-commit").exists()
    result = init_repository(git.cwd, hooks=True)
    assert (git.cwd / ".git" / "hooks" / "pre-commit").is_file()
    assert any("pre-commit hook" in a for a in result.actions)
    assert result.next_commands[-1].startswith("TORCHLANE_ALLOW_PUSH=1 git push -u origin develop")


def test_init_cli_filter_by_consent_and_next_commands(tmp_path: Path, cli) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, "explore.ipynb", '{"cells": [], "metadata": {}, "nbformat": 4}\n')
    result = cli(["init", "--filter", "-C", str(git.cwd)])
    assert result.code == 0, result.err
    assert git.out("config", "--get", "filter.torchlane-nb.required") == "true"
    assert _committed_on(git, "develop", ".gitattributes")
    assert "1 committed notebook(s) are not stripped" in result.out
    git.run("add", "--renormalize", "--", "*.ipynb")
    git.run("commit", "--quiet", "-m", "Strip notebooks")
    assert git.dirty_paths() == []
    again = cli(["init", "--filter", "-C", str(git.cwd)])
    assert again.code == 0, again.err
    assert "not stripped" not in again.out
    assert "$EDITOR .torchlane.toml" in result.out
    assert "torchlane eval" in result.out
    assert "\n  git push -u origin develop && torchlane metrics push" in result.out
    assert not (git.cwd / ".git" / "hooks" / "pre-push").exists()  # --hooks not given


def test_init_without_filter_flag_installs_no_filter(tmp_path: Path, cli) -> None:
    git = _repo(tmp_path / "work")
    commit_file(git, "train.py", "epochs = 3\n")
    assert cli(["init", "--no-filter", "--no-hooks", "-C", str(git.cwd)]).code == 0
    assert not git.succeeds("config", "--get", "filter.torchlane-nb.process")
    assert not (git.cwd / ".gitattributes").exists()
