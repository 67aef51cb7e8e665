"""The hook path: `python -m torchlane env check` without click, its cache, and its fallbacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.env.conftest import Repo, subprocess_env, unmeasured_env
from torchlane.env.check.fast import CACHE_NAME

IMPOSSIBLE = "FROM pytorch/pytorch:2.9.0-cuda11.8-cudnn8-runtime\n"


def run(repo: Repo, *args: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = unmeasured_env() if "importtime" in flags else subprocess_env()
    return subprocess.run(
        [sys.executable, *flags, "-m", "torchlane", *args],
        cwd=repo.root, capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip


def _age(repo: Repo) -> None:
    """Make every file look edited an hour ago: the cache does not trust files changed just now."""
    an_hour_ago = time.time() - 3600
    for path in [*repo.root.rglob("*")]:
        if path.is_file():
            os.utime(path, (an_hour_ago, an_hour_ago))


def imports(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {
        line.split("|")[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_the_fast_path_imports_neither_click_nor_pydantic_nor_rich(repo: Repo) -> None:
    repo.commit(
        Dockerfile=IMPOSSIBLE, **{"pyproject.toml": '[tool.torchlane.env]\ntorch = "2.9.0"\n'}
    )
    run(repo, "env", "check")  # validates the settings once, through the schema, and keeps them
    proc = run(repo, "env", "check", "--no-cache", flags=("-X", "importtime"))
    imported = {
        line.split("|")[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "torchlane.env.check.static" in imported
    assert not {"click", "pydantic", "rich", "torch", "yaml"} & imported


def test_fast_path_and_click_path_print_the_same(repo: Repo, cli) -> None:
    repo.commit(Dockerfile=IMPOSSIBLE, **{"requirements.txt": "numpy\n"})
    fast = run(repo, "env", "check", "--no-cache")
    slow = cli(["env", "check", "--no-cache", "-C", str(repo.root)])
    assert fast.returncode == slow.code == 1
    assert fast.stdout == slow.out
    assert "image-tag-impossible" in fast.stdout
    assert "fix: Use one of:" in fast.stdout


def test_the_cache_replays_and_notices_changes(repo: Repo) -> None:
    repo.commit(Dockerfile=IMPOSSIBLE)
    # Files modified within a moment of a run are not trusted from the cache (like git's "racy"
    # index entries): age them, as if edited a while ago.
    _age(repo)
    first = run(repo, "env", "check", "--json")
    cache = repo.root / ".git" / "torchlane" / CACHE_NAME
    assert cache.is_file()
    replay = run(repo, "env", "check", "--json", flags=("-X", "importtime"))
    assert replay.stdout == first.stdout
    assert replay.returncode == first.returncode == 1
    assert "torchlane.env.check.static" not in imports(replay)  # replayed, not recomputed
    # An edit (even one not yet staged) changes the result.
    repo.write("Dockerfile", "FROM pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime\n")
    fixed = run(repo, "env", "check")
    assert fixed.returncode == 0
    assert "no problems" in fixed.stdout
    # A newly tracked file changes the index, which the cache watches.
    repo.commit(**{"compose.yaml": "services:\n  db:\n    image: postgres\n"})
    assert "image-unpinned" in run(repo, "env", "check").stdout


@pytest.mark.parametrize("args", [["env", "check", "--help"], ["env", "check", "--bogus"]])
def test_unusual_arguments_fall_through_to_the_full_cli(repo: Repo, args: list[str]) -> None:
    proc = run(repo, *args)
    if "--help" in args:
        assert proc.returncode == 0
        assert "Usage:" in proc.stdout
    else:
        assert proc.returncode == 2
        assert "No such option" in proc.stderr


def test_after_a_commit_unchanged_files_are_not_parsed_again(repo: Repo) -> None:
    repo.commit(
        **{
            "compose.yaml": "services:\n  db:\n    image: postgres:latest\n",
            "pyproject.toml": '[tool.torchlane.env]\ntorch = "2.9.0"\npython = "3.12"\n',
        }
    )
    an_hour_ago = time.time() - 3600
    for name in ("compose.yaml", "pyproject.toml"):
        os.utime(repo.root / name, (an_hour_ago, an_hour_ago))
    first = run(repo, "env", "check")
    repo.commit(**{"README.md": "# a commit that changes the index\n"})
    second = run(repo, "env", "check", flags=("-X", "importtime"))
    imported = {
        line.split("|")[-1].strip()
        for line in second.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "torchlane.env.check.static" in imported  # the index changed: a real run
    assert not {"yaml", "tomllib"} & imported  # but the unchanged files' parses were remembered
    assert second.stdout == first.stdout
    assert "image-unpinned" in second.stdout


def test_a_new_commit_on_the_branch_is_noticed_even_if_the_index_is_unchanged(repo: Repo) -> None:
    repo.commit(Dockerfile=IMPOSSIBLE)
    _age(repo)
    run(repo, "env", "check")
    assert "torchlane.env.check.static" not in imports(
        run(repo, "env", "check", flags=("-X", "importtime"))
    )
    index = repo.root / ".git" / "index"
    before = index.stat().st_mtime_ns
    repo.git.run("commit", "--quiet", "--allow-empty", "-m", "nothing staged")
    os.utime(index, ns=(before, before))  # as if the commit had not rewritten the index
    assert "torchlane.env.check.static" in imports(
        run(repo, "env", "check", flags=("-X", "importtime"))
    )


def test_settings_edits_reach_the_check_and_any_invalid_section_fails_it(repo: Repo) -> None:
    declaration = '[tool.torchlane.env]\ntorch = "2.9.0"\npython = "3.{}"\n'
    repo.commit(**{"pyproject.toml": declaration.format(12)})
    assert run(repo, "env", "check").returncode == 0
    repo.write("pyproject.toml", declaration.format(9))  # torch 2.9 supports 3.10 and later
    assert "python-out-of-range" in run(repo, "env", "check").stdout
    # The settings are validated whole, by the schema, as for every other command.
    repo.write(
        "pyproject.toml", declaration.format(12) + "[tool.torchlane.hooks]\nscan_secret = 1\n"
    )
    broken = run(repo, "env", "check")
    assert broken.returncode == 1
    assert "[tool.torchlane.hooks] scan_secret: unknown key" in broken.stderr
