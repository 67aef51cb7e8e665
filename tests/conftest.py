"""Shared fixtures: every test runs with its own HOME and git identity, against real git."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from torchlane.cli import run as run_cli
from torchlane.git import Git

# Reproducible property tests: the same examples on every run (CI must not go red by chance),
# and no per-example deadline (CI machines are shared and slow down unpredictably).
settings.register_profile("torchlane", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("torchlane")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # CI variables change behaviour (trusted baselines, eval records): tests that need them set them.
    for var in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "NO_COLOR",
        "CI",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "TORCHLANE_SIGNING_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return home


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> object:
    """Call the real CLI in-process: cli(["status", "--json"], cwd=path) -> CliResult."""

    def invoke(args: list[str], cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = run_cli(args)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


def commit_file(git: Git, path: str, content: str, message: str | None = None) -> str:
    target = git.cwd / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    git.run("add", "--", path)
    git.run("commit", "--quiet", "-m", message or f"Change {path}")
    return git.out("rev-parse", "HEAD")


@dataclass
class Project:
    """A repository with the branch model adopted, and a bare origin it pushes to."""

    git: Git
    origin: Path

    @property
    def root(self) -> Path:
        return self.git.cwd


@pytest.fixture
def project(tmp_path: Path) -> Project:
    from torchlane.flow.init import init_repository

    origin = tmp_path / "origin.git"
    Git(tmp_path).run("init", "--quiet", "--bare", str(origin))
    root = tmp_path / "work"
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "# sample\n", "Initial commit")
    init_repository(root)
    git.run("remote", "add", "origin", str(origin))
    git.run("push", "--quiet", "origin", "main", "develop")
    return Project(git, origin)


def commit_pyproject(project: Project, extra: str, message: str = "Configure torchlane") -> str:
    """Move the project's settings from .torchlane.toml into pyproject.toml (torchlane refuses
    settings in both), add `extra` (TOML with [tool.torchlane.*] tables) and commit."""
    import tomlkit

    fallback = project.root / ".torchlane.toml"
    document = tomlkit.document()
    if fallback.is_file():
        document["tool"] = {"torchlane": tomlkit.parse(fallback.read_text(encoding="utf-8"))}
        project.git.run("rm", "--quiet", "--", ".torchlane.toml")
    return commit_file(
        project.git, "pyproject.toml", tomlkit.dumps(document) + "\n" + extra, message
    )
