"""Folders and files that hold tokens or tracebacks are the user's alone, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from torchlane.cli import _crash_log
from torchlane.leanfs import private_dir
from torchlane.notebooks.jupyter import private_token, token_file_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_crash_log_folder_and_file_are_private_under_umask_000(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    try:
        raise RuntimeError("token=abc in argv")
    except RuntimeError as error:
        log = _crash_log(error)
    assert log.parent == tmp_path / "state" / "torchlane"
    assert mode(tmp_path / "state") == 0o700  # created by us: never 0777
    assert mode(log.parent) == 0o700
    assert mode(log) == 0o600
    assert "RuntimeError: token=abc in argv" in log.read_text(encoding="utf-8")


@pytest.mark.usefixtures("open_umask")
def test_jupyter_token_folder_is_private_even_after_a_crash_log_made_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"XDG_STATE_HOME": str(tmp_path / "state")}
    path = token_file_path(environ)
    path.parent.mkdir(parents=True)
    os.chmod(path.parent, 0o777)  # what an older torchlane left under umask 000
    token = private_token(path)
    assert len(token) >= 32
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert private_token(path) == token


def test_private_dir_tightens_only_the_user_s_own_folder(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)
    assert private_dir(loose) == str(loose)
    assert mode(loose) == 0o700
    assert mode(tmp_path) == 0o755  # a parent that existed is left as it was
    nested = private_dir(tmp_path / "a" / "b" / "c")
    assert all(mode(tmp_path / p) == 0o700 for p in ("a", "a/b", "a/b/c"))
    assert nested.endswith("a/b/c")
