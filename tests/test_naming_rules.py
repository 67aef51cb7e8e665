"""naming_core checks names without `re`; these properties hold it to the regular grammars."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from torchlane import naming_rules as naming_core
from torchlane.config.settings import TorchlaneConfig
from torchlane.naming import check_name, naming_rules

# The grammars as regular expressions (semver.org's, ASCII digits), used as oracles.
SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
)
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")

version_like = st.text(alphabet="0123456789.-abrcZ", max_size=14)
name_like = st.text(alphabet="abz019-_./ ~^:?*[\\@{}A\x7f\t", max_size=16)


@given(version_like)
def test_version_parsing_follows_the_semver_grammar(text: str) -> None:
    parsed = naming_core.parse_version_parts(text, "")
    match = SEMVER.fullmatch(text.removeprefix("v"))
    assert (parsed is not None) == (match is not None)
    if parsed is not None:
        assert naming_core.version_text(parsed) == text.removeprefix("v")


@given(st.text(alphabet="ab09-_A ", max_size=12))
def test_slug_check_follows_kebab_case(slug: str) -> None:
    rules = naming_rules(TorchlaneConfig())
    kebab_problem = any("kebab-case" in p for p in naming_core.slug_problems(slug, rules))
    assert kebab_problem == (SLUG.fullmatch(slug) is None)


@given(name_like)
def test_forbidden_sequences_match_the_ref_grammar(name: str) -> None:
    problem = naming_core.ref_format_problem(name)
    if REF_FORBIDDEN.search(name) and name and name != "@" and not name.startswith("-"):
        assert problem is not None
        assert "space, control character" in problem
    elif problem is not None:
        assert "space, control character" not in problem


@given(name_like)
def test_check_name_accepts_plain_rules_and_the_config_alike(name: str) -> None:
    config = TorchlaneConfig()
    assert check_name(name, config) == check_name(name, naming_rules(config))


def test_rules_from_the_plain_settings_equal_the_rules_from_the_schema() -> None:
    config = TorchlaneConfig.model_validate(
        {
            "branches": {"main": "trunk", "develop": "dev"},
            "prefixes": {"feature": "feat/", "hotfix": "hf/"},
            "naming": {"min_slug_length": 3, "max_length": 40, "vague_words": ["thing"]},
            "flow": {"version_tag_prefix": "rel-"},
        }
    )
    schema = naming_rules(config)
    plain = naming_core.NamingRules.from_settings(config.model_dump(mode="json"))
    slots = naming_core.NamingRules.__slots__
    assert {s: getattr(plain, s) for s in slots} == {s: getattr(schema, s) for s in slots}
