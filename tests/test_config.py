"""Configuration: defaults, where it is read from, and errors that name file, key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Project, commit_pyproject
from torchlane.config.load import load_config
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import TorchlaneError
from torchlane.flow.settings import DEFAULT_VAGUE_WORDS


def test_defaults_without_any_file(tmp_path: Path) -> None:
    loaded = load_config(tmp_path)
    assert loaded.path is None
    config = loaded.config
    assert (config.branches.main, config.branches.develop) == ("main", "develop")
    assert config.prefixes.of("hotfix") == "hotfix/"
    assert config.flow.version_tag_prefix == "v"
    assert config.flow.stale_after_days == 14
    assert config.flow.adopted_at is None
    assert config.naming.vague_words == DEFAULT_VAGUE_WORDS


def test_pyproject_without_torchlane_table_means_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    loaded = load_config(tmp_path)
    assert loaded.path is None
    assert loaded.config == TorchlaneConfig()


def test_pyproject_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.torchlane.branches]\nmain = "trunk"\n'
        "[tool.torchlane.flow]\nstale_after_days = 30\n",
        encoding="utf-8",
    )
    loaded = load_config(tmp_path)
    assert loaded.path == tmp_path / "pyproject.toml"
    assert loaded.config.branches.main == "trunk"
    assert loaded.config.branches.develop == "develop"
    assert loaded.config.flow.stale_after_days == 30


def test_fallback_file_when_pyproject_has_no_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    (tmp_path / ".torchlane.toml").write_text(
        '[flow]\nversion_tag_prefix = "rel-"\n', encoding="utf-8"
    )
    loaded = load_config(tmp_path)
    assert loaded.path == tmp_path / ".torchlane.toml"
    assert loaded.config.flow.version_tag_prefix == "rel-"


def test_settings_in_both_files_are_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.env]\npython = "3.11"\n', encoding="utf-8"
    )
    (tmp_path / ".torchlane.toml").write_text('[branches]\nmain = "master"\n', encoding="utf-8")
    with pytest.raises(TorchlaneError) as caught:
        load_config(tmp_path)
    assert "pyproject.toml" in caught.value.message
    assert ".torchlane.toml" in caught.value.message
    assert caught.value.hint is not None
    assert "[tool.torchlane.branches]" in caught.value.hint


def test_an_empty_fallback_file_does_not_conflict(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.flow]\nremote = "upstream"\n', encoding="utf-8"
    )
    (tmp_path / ".torchlane.toml").write_text("# moved to pyproject.toml\n", encoding="utf-8")
    loaded = load_config(tmp_path)
    assert (loaded.path, loaded.config.flow.remote) == (tmp_path / "pyproject.toml", "upstream")


def _error(tmp_path: Path, name: str, text: str) -> TorchlaneError:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(TorchlaneError) as caught:
        load_config(tmp_path)
    return caught.value


def test_invalid_value_names_file_key_and_allowed(tmp_path: Path) -> None:
    error = _error(tmp_path, "pyproject.toml", "[tool.torchlane.flow]\nstale_after_days = 0\n")
    assert "pyproject.toml" in error.message
    assert "[tool.torchlane.flow] stale_after_days" in error.message
    assert "greater than or equal to 1" in error.message
    assert "got 0" in error.message
    assert error.hint


def test_invalid_prefix_says_what_a_prefix_looks_like(tmp_path: Path) -> None:
    error = _error(tmp_path, ".torchlane.toml", '[prefixes]\nfeature = "feat"\n')
    assert ".torchlane.toml" in error.message
    assert "[prefixes] feature" in error.message
    assert "ending with '/'" in error.message


def test_unknown_key_lists_the_allowed_keys(tmp_path: Path) -> None:
    error = _error(tmp_path, "pyproject.toml", "[tool.torchlane.flow]\nstale_after_dayz = 3\n")
    assert "pyproject.toml" in error.message
    assert "[tool.torchlane.flow] stale_after_dayz: unknown key" in error.message
    assert error.hint is not None
    assert "stale_after_days" in error.hint
    assert "long_lived_after_days" in error.hint


def test_unknown_section(tmp_path: Path) -> None:
    error = _error(tmp_path, "pyproject.toml", "[tool.torchlane.flwo]\nremote = 'x'\n")
    assert "[tool.torchlane] flwo: unknown key" in error.message
    assert error.hint is not None
    assert "flow" in error.hint


def test_wrong_type_of_table(tmp_path: Path) -> None:
    error = _error(tmp_path, "pyproject.toml", '[tool]\ntorchlane = "yes"\n')
    assert "tool.torchlane" in error.message
    assert "must be a table" in error.message


@pytest.mark.parametrize("name", ["pyproject.toml", ".torchlane.toml"])
def test_invalid_toml(tmp_path: Path, name: str) -> None:
    error = _error(tmp_path, name, "[tool.torchlane\nmain = \n")
    assert name in error.message
    assert "not valid TOML" in error.message
    assert error.hint is not None
    assert str(tmp_path / name) in error.hint


def test_error_reaches_the_cli_with_a_hint(tmp_path: Path, cli) -> None:
    import subprocess

    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.torchlane.flow]\nremote = 3\n", encoding="utf-8"
    )
    result = cli(["start", "feature", "add-loader", "-C", str(tmp_path)])
    assert result.code == 1
    assert "error: pyproject.toml: [tool.torchlane.flow] remote" in result.err
    assert "hint:" in result.err


def test_read_only_commands_survive_a_settings_typo_and_mutating_ones_refuse(
    project: Project, cli
) -> None:
    commit_pyproject(project, '[tool.torchlane.metrics]\nnotes_reff = "x"\n')
    typo = "[tool.torchlane.metrics] notes_reff: unknown key"
    for args in (["status"], ["verify"], ["check-name", "feature/add-loader"]):
        done = cli([*args, "-C", str(project.root)])
        assert done.code == 0, (args, done.err)
        assert f"warning: pyproject.toml: {typo}" in done.err
        assert "ignoring [tool.torchlane.metrics] (defaults used)" in done.err
    refused = cli(["start", "feature", "add-loader", "-C", str(project.root)])
    assert refused.code != 0
    assert typo in refused.err
    assert not project.git.branch_exists("feature/add-loader")
