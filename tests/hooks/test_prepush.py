"""The pre-push logic on its own: parsing git's lines, which refs are judged, the settings cache."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from tests.conftest import commit_file
from torchlane.config.settings import TorchlaneConfig
from torchlane.git import Git
from torchlane.hooks import cached_settings as settings
from torchlane.hooks.chain import split_hook_argument
from torchlane.hooks.precommit import is_environment_file, run_torchlane
from torchlane.hooks.prepush import ZERO, parse_updates, ref_problems
from torchlane.naming import naming_rules

RULES = naming_rules(TorchlaneConfig())
OPTIONS: dict[str, object] = TorchlaneConfig().hooks.model_dump()
SHA = "a" * 40


def test_parse_updates_reads_git_lines_and_the_pre_commit_framework_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = f"refs/heads/x {SHA} refs/heads/x {ZERO}\nrefs/tags/v1 {SHA} refs/tags/v1 {ZERO}\n"
    assert parse_updates(text) == [
        ("refs/heads/x", SHA, "refs/heads/x", ZERO),
        ("refs/tags/v1", SHA, "refs/tags/v1", ZERO),
    ]
    monkeypatch.setenv("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/feature/add-loader")
    monkeypatch.setenv("PRE_COMMIT_TO_REF", SHA)
    monkeypatch.delenv("PRE_COMMIT_FROM_REF", raising=False)
    assert parse_updates("") == [("", SHA, "refs/heads/feature/add-loader", ZERO)]


def test_only_new_branches_are_judged_by_name_and_tags_not_at_all() -> None:
    updates = [
        ("refs/heads/tmp", SHA, "refs/heads/tmp", "b" * 40),  # already published
        ("refs/tags/anything", SHA, "refs/tags/anything", ZERO),
        ("(delete)", ZERO, "refs/heads/old-name", SHA),
    ]
    assert ref_problems(updates, RULES, OPTIONS) == ([], [])
    problems, _ = ref_problems([("refs/heads/tmp", SHA, "refs/heads/tmp", ZERO)], RULES, OPTIONS)
    assert len(problems) == 1
    assert "'tmp' breaks the naming conventions" in problems[0]


def test_protection_and_name_checks_can_be_turned_off() -> None:
    options = {**OPTIONS, "protect_long_lived": False, "check_branch_names": False}
    updates = [
        ("refs/heads/main", SHA, "refs/heads/main", "b" * 40),
        ("refs/heads/tmp", SHA, "refs/heads/tmp", ZERO),
    ]
    assert ref_problems(updates, RULES, options) == ([], [])


def test_hook_arguments_are_split_from_git_arguments() -> None:
    assert split_hook_argument(["--hook", "h", "--no-secrets", "origin", "url"]) == (
        "h",
        ["--no-secrets"],
        ["origin", "url"],
    )


def test_settings_cache_follows_the_configuration_file(tmp_path: Path) -> None:
    git = Git(tmp_path)
    git.run("init", "--quiet")
    first = settings.load(str(tmp_path))
    assert first["naming"]["prefixes"]["feature"] == "feature/"  # type: ignore[index]
    cache = tmp_path / ".git" / "torchlane" / settings.CACHE_NAME
    assert marshal.loads(cache.read_bytes())["stamp"] == first["stamp"]
    (tmp_path / ".torchlane.toml").write_text('[prefixes]\nfeature = "feat/"\n', encoding="utf-8")
    second = settings.load(str(tmp_path))
    assert second["naming"]["prefixes"]["feature"] == "feat/"  # type: ignore[index]
    cache.write_bytes(b"not marshal data")  # a damaged cache is rebuilt, not trusted
    assert settings.load(str(tmp_path))["naming"] == second["naming"]


def test_a_broken_configuration_fails_the_hook_with_its_message(tmp_path: Path) -> None:
    git = Git(tmp_path)
    git.run("init", "--quiet")
    (tmp_path / ".torchlane.toml").write_text("[hooks]\nscan_secret = true\n", encoding="utf-8")
    with pytest.raises(Exception, match="scan_secret: unknown key"):
        settings.load(str(tmp_path))


def test_settings_are_found_from_a_linked_worktree(tmp_path: Path) -> None:
    git = Git(tmp_path / "main")
    git.cwd.mkdir()
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "x\n")
    git.run("worktree", "add", "--quiet", "-b", "feature/other", str(tmp_path / "linked"))
    loaded = settings.load(str(tmp_path / "linked"))
    assert loaded["naming"]["main"] == "main"  # type: ignore[index]
    assert list((tmp_path / "main" / ".git" / "worktrees").glob("*/torchlane/*.marshal"))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Dockerfile", True),
        ("docker/Dockerfile.gpu", True),
        ("compose.yaml", True),
        ("requirements-dev.txt", True),
        ("uv.lock", True),
        ("environment.yml", True),
        ("pyproject.toml", True),
        ("src/train.py", False),
        ("docs/lockfiles.md", False),
    ],
)
def test_environment_files(path: str, expected: bool) -> None:
    assert is_environment_file(path) is expected


def test_a_torchlane_command_this_version_lacks_is_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_torchlane(["no-such-family", "check"]) is None
    assert "not available in this torchlane version; skipped" in capsys.readouterr().err
    assert run_torchlane(["check-name", "feature/add-data-loader"]) == 0
