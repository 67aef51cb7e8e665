"""Every git call torchlane makes goes through here: argument lists, a clean environment, typed results."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from torchlane.errors import TorchlaneError

# Variables that point git at another repository or index. They leak in from hooks and from
# `git rebase --exec`, and would make us act on the wrong repository.
_REDIRECTING_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_PREFIX",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_QUARANTINE_PATH",
    }
)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING_VARS}
    env.update(
        {
            "LC_ALL": "C",
            "LANGUAGE": "C",
            "GIT_TERMINAL_PROMPT": "0",
            # torchlane never opens an editor: every message is passed explicitly.
            "GIT_EDITOR": "true",
            "GIT_SEQUENCE_EDITOR": "true",
            "GIT_MERGE_AUTOEDIT": "no",
            "GIT_PAGER": "cat",
        }
    )
    if extra:
        env.update(extra)
    return env


@dataclass(frozen=True)
class GitResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def failure_detail(result: GitResult, limit: int = 6) -> str:
    """What git said went wrong, on one line: its error/fatal lines and the paths it lists.

    git wraps the useful part in advice ("Please move or remove them...", "Aborting", "and the
    repository exists."), and the last line is usually that advice, so it is kept only when git
    said nothing else.
    """
    kept: list[str] = []
    used = 0
    for line in (result.stderr or result.stdout).splitlines():
        is_error = line.startswith(("error: ", "fatal: "))
        is_path = line.startswith(("\t", "        ")) and bool(kept) and bool(line.strip())
        if not (is_error or is_path):
            continue
        if used == limit:
            kept[-1] += " …"
            break
        used += 1
        if is_error:
            kept.append(line.split(": ", 1)[1].strip())
        else:  # an indented line is one of the paths git lists under the error line above it
            kept[-1] += (" " if kept[-1].endswith(":") else ", ") + line.strip()
    if not kept:
        lines = [line.strip() for line in (result.stderr or result.stdout).splitlines()]
        kept = [line for line in lines if line][-1:] or [f"exit status {result.returncode}"]
    return "; ".join(kept)


class GitError(TorchlaneError):
    """A git command failed where torchlane expected it to succeed."""

    def __init__(self, result: GitResult, hint: str | None = None):
        super().__init__(f"`git {' '.join(result.args)}` failed: {failure_detail(result)}", hint)
        self.result = result


class Git:
    """A repository (or a directory inside one) that git commands run against."""

    def __init__(self, cwd: Path | str, env: Mapping[str, str] | None = None):
        self.cwd = Path(cwd)
        self._env = clean_env(env)

    def run(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> GitResult:
        run_env = self._env if env is None else {**self._env, **env}
        proc = subprocess.run(
            ["git", *args],
            cwd=self.cwd,
            env=run_env,
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )
        result = GitResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        if check and not result.ok:
            raise GitError(result)
        return result

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def lines(self, *args: str) -> list[str]:
        return [line for line in self.run(*args).stdout.splitlines() if line]

    def succeeds(self, *args: str) -> bool:
        return self.run(*args, check=False).ok

    # --- repository facts -------------------------------------------------------------------

    def toplevel(self) -> Path:
        result = self.run("rev-parse", "--show-toplevel", check=False)
        if not result.ok:
            raise TorchlaneError(
                f"{self.cwd} is not inside a git repository.",
                "Run `git init` first, or change into your project's directory.",
            )
        return Path(result.stdout.strip())

    def git_dir(self) -> Path:
        return (self.cwd / self.out("rev-parse", "--git-common-dir")).resolve()

    def is_empty(self) -> bool:
        return not self.succeeds("rev-parse", "--verify", "--quiet", "HEAD")

    def rev(self, ref: str) -> str | None:
        """The commit a ref points at, or None if it does not exist."""
        result = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return result.stdout.strip() if result.ok else None

    def ref_value(self, full_ref: str) -> str | None:
        """The object a full ref points at (tags stay tag objects), or None."""
        result = self.run("rev-parse", "--verify", "--quiet", full_ref, check=False)
        return result.stdout.strip() if result.ok else None

    def branch_exists(self, name: str) -> bool:
        return self.ref_value(f"refs/heads/{name}") is not None

    def tag_exists(self, name: str) -> bool:
        return self.ref_value(f"refs/tags/{name}") is not None

    def current_branch(self) -> str | None:
        """The checked-out branch, or None when HEAD is detached."""
        result = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return result.stdout.strip() if result.ok else None

    def dirty_paths(self) -> list[str]:
        """Tracked files with changes, staged or not. Untracked files never count as dirty."""
        return [
            line[3:]
            for line in self.run(
                "status", "--porcelain", "--untracked-files=no"
            ).stdout.splitlines()
            if line
        ]

    def branches(self, pattern: str = "") -> list[str]:
        refs = f"refs/heads/{pattern}" if pattern else "refs/heads/"
        return self.lines("for-each-ref", "--format=%(refname:short)", refs)

    def tags(self, pattern: str = "") -> list[str]:
        return self.lines("tag", "--list", pattern) if pattern else self.lines("tag", "--list")

    def remotes(self) -> list[str]:
        return self.lines("remote")

    def remote_url(self, remote: str) -> str | None:
        result = self.run("remote", "get-url", remote, check=False)
        return result.stdout.strip() if result.ok else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.succeeds("merge-base", "--is-ancestor", ancestor, descendant)

    def merge_base(self, a: str, b: str) -> str | None:
        result = self.run("merge-base", a, b, check=False)
        return result.stdout.strip() if result.ok else None

    def update_refs(
        self, updates: Iterable[tuple[str, str | None, str | None]], message: str
    ) -> None:
        """Atomically move refs: (full ref, new value or None to delete, expected old or None)."""
        commands: list[str] = ["start"]
        for ref, new, old in updates:
            if new is None:
                commands.append(f"delete {ref}" + (f" {old}" if old else ""))
            elif old is None:
                commands.append(f"update {ref} {new}")
            else:
                commands.append(f"update {ref} {new} {old}")
        commands += ["prepare", "commit"]
        self.run("update-ref", "-m", message, "--stdin", input="\n".join(commands) + "\n")

    def config_get(self, key: str) -> str | None:
        result = self.run("config", "--get", key, check=False)
        return result.stdout.strip() if result.ok else None

    def run_bytes(self, *args: str, input: bytes | None = None) -> bytes:
        """Output as bytes, for file contents that need not be text (`cat-file --batch`)."""
        proc = subprocess.run(
            ["git", *args],
            cwd=self.cwd,
            env=self._env,
            input=input,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace")
            raise GitError(GitResult(tuple(args), proc.returncode, "", stderr))
        return proc.stdout

    def stream(self, *args: str) -> Iterator[bytes]:
        """Output lines as git produces them, for output too large to hold (`log -p --all`)."""
        proc = subprocess.Popen(
            ["git", *args],
            cwd=self.cwd,
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            yield from proc.stdout
        finally:
            proc.stdout.close()
            stderr = proc.stderr.read().decode("utf-8", "replace")
            proc.stderr.close()
            if proc.wait() != 0 and stderr:
                raise GitError(GitResult(tuple(args), proc.returncode, "", stderr))


@functools.cache
def git_version() -> tuple[int, int, int]:
    out = subprocess.run(
        ["git", "--version"], capture_output=True, text=True, check=True, env=clean_env()
    ).stdout
    numbers = out.split()[2].split(".")
    parts = [int("".join(ch for ch in n if ch.isdigit()) or 0) for n in numbers[:3]]
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def open_repo(path: Path | str | None = None) -> Git:
    """A Git bound to the top level of the repository containing `path` (default: cwd)."""
    probe = Git(Path.cwd() if path is None else Path(path))
    return Git(probe.toplevel())
