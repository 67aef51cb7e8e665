"""Branch naming rules and release versions, checked against git itself where git has a say."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchlane.config.settings import TorchlaneConfig
from torchlane.git import clean_env
from torchlane.naming import (
    BranchType,
    Version,
    check_name,
    parse_branch,
    parse_version,
    ref_format_problem,
    suggest_name,
)

CONFIG = TorchlaneConfig()


def git_accepts_branch(name: str) -> bool:
    proc = subprocess.run(
        ["git", "check-ref-format", "--branch", name],
        capture_output=True,
        check=False,
        env=clean_env(),
    )
    return proc.returncode == 0


@pytest.mark.parametrize(
    ("name", "branch_type"),
    [
        ("feature/add-mixup", BranchType.FEATURE),
        ("bugfix/loader-crash", BranchType.BUGFIX),
        ("refactor/split-trainer", BranchType.REFACTOR),
        ("release/v1.2.0", BranchType.RELEASE),
        ("release/v2.0.0-rc.1", BranchType.RELEASE),
        ("hotfix/v1.2.1", BranchType.HOTFIX),
        ("bugfix/123-nan-loss", BranchType.BUGFIX),
        ("feature/updates-for-resnet", BranchType.FEATURE),
    ],
)
def test_good_names(name: str, branch_type: BranchType) -> None:
    verdict = check_name(name, CONFIG)
    assert verdict.ok, verdict.problems
    assert verdict.type is branch_type
    assert verdict.suggestion is None
    assert git_accepts_branch(name)


def test_main_and_develop_are_always_fine() -> None:
    assert check_name("main", CONFIG).ok
    assert check_name("develop", CONFIG).ok


@pytest.mark.parametrize(
    ("name", "reason", "suggestion"),
    [
        ("tmp", "no branch-type prefix", "feature/describe-the-change"),
        ("fix_something", "no branch-type prefix", "bugfix/something"),
        ("fix/loader", "no branch-type prefix", "bugfix/loader"),
        ("addMixup", "no branch-type prefix", "feature/add-mixup"),
        ("feature/Add_Mixup", "not kebab-case", "feature/add-mixup"),
        ("feature/add mixup", "git cannot use it", "feature/add-mixup"),
        ("feature/fix", "does not say what the branch does", "feature/describe-the-change"),
        ("feature/abc", "shorter than 5 characters", "feature/abc-what-it-does"),
        ("feature/-leading-dash", "not kebab-case", "feature/leading-dash"),
        ("feature/a..b-thing", "git cannot use it", "feature/a-b-thing"),
        ("feature/cache.lock", "ends with '.lock'", "feature/cache-lock"),
        ("release/1.2.0", "write the version as 'v1.2.0'", "release/v1.2.0"),
        ("release/v1.2", "not a semantic version", "release/v1.2.3"),
        ("hotfix/latest", "not a semantic version", "hotfix/v1.2.3"),
        ("feature/" + "long-" * 20 + "name", "longer than 80 characters", None),
    ],
)
def test_bad_names_have_reasons_and_valid_suggestions(
    name: str, reason: str, suggestion: str | None
) -> None:
    verdict = check_name(name, CONFIG)
    assert not verdict.ok
    assert any(reason in problem for problem in verdict.problems), verdict.problems
    assert verdict.suggestion is not None
    if suggestion is not None:
        assert verdict.suggestion == suggestion
    assert check_name(verdict.suggestion, CONFIG).ok, verdict.suggestion
    assert git_accepts_branch(verdict.suggestion)


def test_prefixes_come_from_the_configuration() -> None:
    config = TorchlaneConfig.model_validate({"prefixes": {"feature": "feat/"}})
    assert check_name("feat/add-mixup", config).ok
    assert not check_name("feature/add-mixup", config).ok
    assert suggest_name("add_mixup", config) == "feat/add-mixup"


_REF_ALPHABET = st.sampled_from(
    [*"abcXYZ019/.-_@{}~^:?*[]\\ \t\x7f\x01é", "/", ".", "-", ".lock", "@{", "..", "HEAD"]
)
_ARBITRARY = st.lists(_REF_ALPHABET, min_size=0, max_size=12).map("".join)
_SLUGGY = st.text(alphabet="abcdefghij0123456789-_/.ABC ", min_size=1, max_size=40)


@pytest.mark.parametrize(
    "text",
    ["@", "HEAD", "-x", "a/.b", "a.lock", "a..b", "a@{b", "a//b", "/a", "a/", "a.", "a b", "a~b",
     "feature/ok-name", "é/ü"],
)  # fmt: skip
def test_ref_format_examples_agree_with_git(text: str) -> None:
    assert (ref_format_problem(text) is None) == git_accepts_branch(text)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ARBITRARY)
def test_ref_format_problem_agrees_with_git(text: str) -> None:
    assert (ref_format_problem(text) is None) == git_accepts_branch(text), repr(text)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["feature/", "bugfix/", "refactor/", "release/", "", "fix/"]),
    st.one_of(_SLUGGY, st.text(max_size=90)),
)
def test_accepted_names_are_accepted_by_git_and_suggestions_are_valid(
    prefix: str, body: str
) -> None:
    name = prefix + body
    verdict = check_name(name, CONFIG)
    if verdict.ok:
        assert git_accepts_branch(name), name
    else:
        assert verdict.suggestion is not None
        assert check_name(verdict.suggestion, CONFIG).ok, (name, verdict.suggestion)
        assert git_accepts_branch(verdict.suggestion)


_NUMBER = st.integers(min_value=0, max_value=10_000)
_IDENT = st.one_of(_NUMBER, st.from_regex(r"[0-9]*[a-zA-Z-][0-9a-zA-Z-]{0,5}", fullmatch=True))
_VERSIONS = st.builds(Version, _NUMBER, _NUMBER, _NUMBER, st.lists(_IDENT, max_size=3).map(tuple))


@given(_VERSIONS)
def test_version_text_round_trips(version: Version) -> None:
    assert parse_version(str(version)) == version
    assert parse_version(f"v{version}") == version


@given(_VERSIONS, _VERSIONS, _VERSIONS)
def test_version_order_is_a_total_order(a: Version, b: Version, c: Version) -> None:
    ka, kb, kc = a.sort_key(), b.sort_key(), c.sort_key()
    assert (ka < kb) + (ka == kb) + (ka > kb) == 1
    assert (ka == kb) == (a == b)
    if ka <= kb <= kc:
        assert ka <= kc


@given(_VERSIONS)
def test_prerelease_sorts_before_its_release(version: Version) -> None:
    release = Version(version.major, version.minor, version.patch)
    if version.prerelease:
        assert version.sort_key() < release.sort_key()
    bumped = Version(version.major, version.minor, version.patch + 1, ("alpha",))
    assert version.sort_key() < bumped.sort_key()


def test_semver_precedence_example_from_the_specification() -> None:
    # semver.org, section 11.
    ordered = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
        "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0",
    ]  # fmt: skip
    versions = [parse_version(text) for text in ordered]
    assert all(v is not None for v in versions)
    keys = [v.sort_key() for v in versions if v is not None]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    "text",
    ["1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3+build", "x1.2.3", ""],
)
def test_not_semver(text: str) -> None:
    assert parse_version(text) is None


def test_release_branch_parses_its_version() -> None:
    parsed = parse_branch("release/v1.4.0-rc.2", CONFIG)
    assert parsed is not None
    assert parsed.type is BranchType.RELEASE
    assert parsed.version == Version(1, 4, 0, ("rc", 2))
