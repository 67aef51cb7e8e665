"""The pre-push logic on its own: parsing git's lines and which refs are judged."""

from __future__ import annotations

import pytest

from torchlane.config.settings import TorchlaneConfig
from torchlane.env.files import is_environment_file
from torchlane.hooks.chain import split_hook_argument
from torchlane.hooks.precommit import run_torchlane
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
