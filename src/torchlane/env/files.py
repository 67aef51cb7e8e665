"""The environment files, defined once, and which of them `env check` reads.

`ENVIRONMENT_PATTERNS` is the one definition of "a file whose change can change the environment":
the pre-commit hook (`is_environment_file`), the CI `env` stage's inputs (`ci_pathspecs`) and
the `files:` regex of `.pre-commit-hooks.yaml` (`pre_commit_regex`, checked by a test) all
derive from it. A pattern of N components matches the last N components of a path, each with
fnmatch rules (`*` never crosses a `/`), case-sensitively: "Dockerfile*" matches
docker/Dockerfile.gpu, ".devcontainer/*" matches .devcontainer/devcontainer.json.

`kind_of` then says how `env check` reads each such file (tracked files, or a directory walk
outside git); every path it classifies matches a pattern (a test checks that too).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ENVIRONMENT_PATTERNS: tuple[str, ...] = (
    # images
    "Dockerfile*",
    "Containerfile*",
    "*.Dockerfile",
    "*.dockerfile",
    "compose*.yml",
    "compose*.yaml",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    ".devcontainer/*",
    # pins
    "*requirements*.txt",
    "requirements*.in",
    "requirements/*.txt",
    "requirements/*.in",
    "constraints*.txt",
    "*.lock",
    "environment*.yml",
    "environment*.yaml",
    # declarations: the project's dependencies and torchlane's [env] section
    "pyproject.toml",
    ".torchlane.toml",
)


def is_environment_file(path: str, patterns: tuple[str, ...] = ENVIRONMENT_PATTERNS) -> bool:
    parts = path.strip("/").split("/")
    for pattern in patterns:
        wanted = pattern.split("/")
        if len(parts) >= len(wanted) and all(
            fnmatch.fnmatchcase(part, want)
            for part, want in zip(parts[-len(wanted) :], wanted, strict=True)
        ):
            return True
    return False


def ci_pathspecs(patterns: tuple[str, ...] = ENVIRONMENT_PATTERNS) -> tuple[str, ...]:
    """git pathspecs matching exactly what `is_environment_file` accepts, in any folder."""
    return tuple(f":(glob)**/{pattern}" for pattern in patterns)


def pre_commit_regex(patterns: tuple[str, ...] = ENVIRONMENT_PATTERNS) -> str:
    """The `files:` regex (Python `re.search`, as pre-commit uses it) for the same set."""

    def component(text: str) -> str:
        out = ""
        for char in text:
            out += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
        return out

    alternatives = "|".join("/".join(component(c) for c in p.split("/")) for p in patterns)
    return f"(^|/)({alternatives})$"


# Lock files of other tools share the .lock suffix but not pip's format.
_FOREIGN_LOCKS = frozenset(
    {"poetry.lock", "pipfile.lock", "uv.lock", "pdm.lock", "yarn.lock", "cargo.lock",
     "package-lock.json", "gemfile.lock", "composer.lock", "flake.lock", "pixi.lock", "conda-lock.yml"}
)  # fmt: skip
_NOT_DOCKERFILES = frozenset(
    {"py", "md", "rst", "txt", "json", "yml", "yaml", "toml", "sh", "j2", "jinja", "jinja2",
     "tmpl", "template", "in", "lock", "cfg", "ini", "bak", "orig", "swp", "dockerignore"}
)  # fmt: skip
_SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}
)


@dataclass
class RepoFiles:
    dockerfiles: list[str] = field(default_factory=list)
    compose: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    conda: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return sorted({*self.dockerfiles, *self.compose, *self.requirements, *self.conda})


def _is_dockerfile(name: str) -> bool:
    lower = name.lower()
    if lower in ("dockerfile", "containerfile") or lower.endswith(".dockerfile"):
        return True
    # Dockerfile.gpu, Dockerfile.dev, ...: but not dockerfile.py or Dockerfile.md next to them.
    suffix = lower.rpartition(".")[2]
    return name.startswith(("Dockerfile.", "Containerfile.")) and suffix not in _NOT_DOCKERFILES


def kind_of(path: str) -> str | None:
    name = PurePosixPath(path).name
    lower = name.lower()
    if _is_dockerfile(name):
        return "dockerfile"
    if fnmatch.fnmatch(lower, "*compose*.y*ml") and (
        "docker-compose" in lower or lower.startswith("compose")
    ):
        return "compose"
    if fnmatch.fnmatch(lower, "environment*.y*ml"):
        return "conda"
    if lower in _FOREIGN_LOCKS:
        return None
    if fnmatch.fnmatch(lower, "*requirements*.txt") or fnmatch.fnmatch(lower, "constraints*.txt"):
        return "requirements"
    if lower.endswith((".lock", ".in")) and ("requirements" in lower or lower.endswith(".lock")):
        return "requirements"
    if PurePosixPath(path).parent.name == "requirements" and lower.endswith((".txt", ".in")):
        return "requirements"
    return None


def classify(paths: list[str], extra: tuple[str, ...] = ()) -> RepoFiles:
    """Sort candidate paths by kind; `extra` are declared files that count as requirements."""
    files = RepoFiles()
    buckets = {"dockerfile": files.dockerfiles, "compose": files.compose,
               "requirements": files.requirements, "conda": files.conda}  # fmt: skip
    for path in sorted(set(paths)):
        kind = "requirements" if path in extra else kind_of(path)
        if kind is not None:
            buckets[kind].append(path)
    return files


def walk(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
        base = Path(folder).relative_to(root)
        found += [(base / name).as_posix() for name in names if kind_of(name) is not None]
    return found


def tracked(root: Path) -> list[str] | None:
    """Tracked files, or None when `root` is not inside a git work tree."""
    from torchlane.git import Git, GitError

    try:
        return Git(root).files(".", untracked=False)
    except GitError:
        return None


def discover(root: Path, extra: tuple[str, ...] = ()) -> RepoFiles:
    paths = tracked(root)
    if paths is None:
        paths = walk(root)
    existing = [p for p in extra if (root / p).is_file()]
    # A tracked file deleted from the work tree is not part of the environment any more.
    present = [p for p in paths if kind_of(p) is None or (root / p).is_file()]
    return classify([*present, *existing], tuple(existing))
