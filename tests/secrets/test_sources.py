"""Scanning real repositories: files, the index, all of history; baseline; the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit_file
from torchlane.git import Git
from torchlane.secrets.report import run_scan

HF = "hf_" + "QmZxWvUtSrQpOnMlKjIhGfEdCbAzYxWvUt"
GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture
def repo(tmp_path: Path) -> Git:
    git = Git(tmp_path)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "# sample\n", "Initial commit")
    return git


Cli = Callable[..., Any]


@pytest.fixture
def tl(cli: Cli, repo: Git) -> Cli:
    """`torchlane secrets scan ARGS` in the repository, in-process."""

    def scan(*args: str) -> Any:
        return cli(["secrets", "scan", *args], cwd=repo.cwd)

    return scan


def test_staged_scan_reads_the_index_not_the_working_tree(repo: Git) -> None:
    (repo.cwd / "train.py").write_text(f'login(token="{HF}")\n', encoding="utf-8")
    repo.run("add", "train.py")
    # The working tree no longer holds the secret; the index does, and that is what commits.
    (repo.cwd / "train.py").write_text("login()\n", encoding="utf-8")
    report = run_scan(repo, staged=True)
    assert [(f.path, f.rule) for f in report.findings] == [("train.py", "huggingface-token")]
    assert run_scan(repo).findings == []  # the files on disk are clean


def test_staged_scan_skips_deleted_and_unstaged_files(repo: Git) -> None:
    commit_file(repo, "old.py", f'k = "{GH}"  # torchlane: allow-secret\n')
    repo.run("rm", "--quiet", "old.py")
    (repo.cwd / "untracked.py").write_text(f'k = "{GH}"\n', encoding="utf-8")
    report = run_scan(repo, staged=True)
    assert report.findings == []
    assert report.scanned == 0


def test_history_reports_the_commit_that_added_the_secret(repo: Git) -> None:
    sha = commit_file(repo, "conf/settings.py", f'GITHUB = "{GH}"\n', "Add settings")
    commit_file(repo, "conf/settings.py", 'GITHUB = os.environ["GITHUB"]\n', "Remove it")
    repo.run("checkout", "--quiet", "-b", "feature/other")
    commit_file(repo, "nb.txt", f"token {HF}\n")
    repo.run("checkout", "--quiet", "main")
    report = run_scan(repo, history=True)
    found = {(f.commit, f.path, f.line, f.rule) for f in report.findings}
    assert (sha, "conf/settings.py", 1, "github-token") in found
    assert any(f.path == "nb.txt" for f in report.findings)  # every ref, not just HEAD
    assert report.scanned == 4
    assert run_scan(repo).findings == []  # the current files are clean


def test_history_decodes_added_notebook_json_lines(repo: Git) -> None:
    source = 'api_token = "Zx9Qw3Er7Ty1Ui5Op2"\n'  # torchlane: allow-secret
    cell = json.dumps({"cell_type": "code", "source": [source]})
    notebook = '{"cells": [\n' + cell + '\n], "nbformat": 4, "nbformat_minor": 5}\n'
    commit_file(repo, "a.ipynb", notebook)
    (finding,) = run_scan(repo, history=True).findings
    assert finding.rule == "generic-secret"
    assert finding.line == 2


def test_baseline_accepts_findings_by_hash_and_never_stores_the_secret(repo: Git, tl: Cli) -> None:
    commit_file(repo, "a.py", f'token = "{GH}"\n')
    assert tl().code == 1
    update = tl("--update-baseline")
    assert update.code == 0, update.err
    baseline = (repo.cwd / ".torchlane-secrets.json").read_text(encoding="utf-8")
    assert GH not in baseline
    assert json.loads(baseline)["accepted"][0]["file"] == "a.py"
    accepted = tl("--json")
    assert accepted.code == 0
    assert json.loads(accepted.out)["baselined"] == 1
    assert json.loads(accepted.out)["skipped"] == []  # the baseline is not a skipped file
    # The same secret in another file is a new finding.
    (repo.cwd / "b.py").write_text(f'token = "{GH}"\n', encoding="utf-8")
    again = tl("--json")
    assert again.code == 1
    assert [f["path"] for f in json.loads(again.out)["findings"]] == ["b.py"]


def test_cli_reports_location_rule_and_redaction(repo: Git, tl: Cli) -> None:
    (repo.cwd / "src").mkdir()
    (repo.cwd / "src" / "keys.py").write_text(f'\nHF = "{HF}"\n', encoding="utf-8")
    result = tl("src")
    assert result.code == 1
    assert "src/keys.py:2:7: Hugging Face access token (huggingface-token): hf_Q…" in result.out
    assert HF not in result.out + result.err
    assert "rotate" in result.err
    elsewhere = tl("-C", str(repo.cwd / "src"), "keys.py")  # relative to -C, like git
    assert elsewhere.code == 1
    assert "src/keys.py:2" in elsewhere.out
    clean = tl("README.md")
    assert clean.code == 0
    assert "No secrets in 1 file(s)" in clean.out


def test_cli_refuses_two_sources_and_missing_paths(repo: Git, tl: Cli) -> None:
    both = tl("--staged", "--history")
    assert both.code == 2
    assert "Choose one of" in both.err
    missing = tl("nowhere.py")
    assert missing.code == 2
    assert "nowhere.py does not exist" in missing.err
