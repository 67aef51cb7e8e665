"""The settings snapshot: what the hooks, `check-name` and `env check` read instead of pydantic."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from tests.conftest import commit_file
from torchlane.config import snapshot as snapshot_module
from torchlane.config.load import load_config
from torchlane.config.snapshot import load_snapshot, snapshot_path
from torchlane.git import Git


def _repository(path: Path) -> Path:
    Git(path).run("init", "--quiet")
    return path


def test_the_snapshot_is_the_schema_s_dump(tmp_path: Path) -> None:
    root = _repository(tmp_path)
    (root / "pyproject.toml").write_text(
        '[tool.torchlane.env]\ntorch = "2.9.0"\n[tool.torchlane.hooks]\nscan_secrets = false\n',
        encoding="utf-8",
    )
    snapshot = load_snapshot(str(root))
    assert snapshot.settings == load_config(root).config.model_dump(mode="json")
    assert (snapshot.source, snapshot.declared) == ("pyproject.toml", ("env", "hooks"))
    assert snapshot.section("env")["python"] == "3.11"  # defaults come from the schema


def test_a_warm_snapshot_is_read_without_the_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repository(tmp_path)
    (root / ".torchlane.toml").write_text('[branches]\nmain = "trunk"\n', encoding="utf-8")
    cold = load_snapshot(str(root))

    def refuse(root: str) -> None:
        raise AssertionError(f"validated {root} again")

    monkeypatch.setattr(snapshot_module, "validate", refuse)
    warm = load_snapshot(str(root))
    assert (warm.settings, warm.source, warm.declared) == (
        cold.settings,
        cold.source,
        cold.declared,
    )


def test_settings_cache_follows_the_configuration_file(tmp_path: Path) -> None:
    root = _repository(tmp_path)
    first = load_snapshot(str(root))
    assert first.settings["prefixes"]["feature"] == "feature/"
    assert first.source is None
    cache = Path(str(snapshot_path(str(root))))
    assert cache == root / ".git" / "torchlane" / "settings.marshal"
    assert marshal.loads(cache.read_bytes())[1] == first.settings
    (root / ".torchlane.toml").write_text('[prefixes]\nfeature = "feat/"\n', encoding="utf-8")
    second = load_snapshot(str(root))
    assert second.settings["prefixes"]["feature"] == "feat/"
    assert second.source == ".torchlane.toml"
    cache.write_bytes(b"not marshal data")  # a damaged cache is rebuilt, not trusted
    assert load_snapshot(str(root)).settings == second.settings


def test_a_broken_configuration_fails_with_the_loader_s_message(tmp_path: Path) -> None:
    root = _repository(tmp_path)
    (root / ".torchlane.toml").write_text("[hooks]\nscan_secret = true\n", encoding="utf-8")
    with pytest.raises(Exception, match="scan_secret: unknown key"):
        load_snapshot(str(root))
    assert not (root / ".git" / "torchlane" / "settings.marshal").exists()


def test_settings_are_found_from_a_linked_worktree(tmp_path: Path) -> None:
    git = Git(tmp_path / "main")
    git.cwd.mkdir()
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "x\n")
    git.run("worktree", "add", "--quiet", "-b", "feature/other", str(tmp_path / "linked"))
    snapshot = load_snapshot(str(tmp_path / "linked"))
    assert snapshot.settings["branches"]["main"] == "main"
    assert list((tmp_path / "main" / ".git" / "worktrees").glob("*/torchlane/settings.marshal"))


def test_outside_a_repository_every_call_validates_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / ".torchlane.toml").write_text("[env]\npython = '3.12'\n", encoding="utf-8")
    assert snapshot_path(str(tmp_path)) is None
    assert load_snapshot(str(tmp_path)).section("env")["python"] == "3.12"
    (tmp_path / ".torchlane.toml").write_text("[env]\npython = '3'\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"\[env\] python"):
        load_snapshot(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".torchlane.toml"]
