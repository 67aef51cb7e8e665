"""The raw layer under torchlane.git: a clean environment, typed results, GitError, and argv runs.

Feature code says what it wants through Git's named operations (torchlane.git); the generic
`run/out/lines/succeeds` here are for commands particular to one algorithm.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from torchlane import proc
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


_REMOTE_PROGRESS = re.compile(r"(Enumerating|Counting|Compressing|Total|Resolving|Writing) ")
# ` ! [rejected]        develop -> develop (fetch first)`, ` ! [remote rejected] a -> a (…)`
_PUSH_VERDICT = re.compile(
    r"^ ! \[(?P<kind>[a-z ]+)\]\s+(?P<src>\S*) -> (?P<dst>\S+) \((?P<why>.*)\)"
)


@dataclass(frozen=True)
class PushRejection:
    """One ref a push did not update, and who refused it."""

    branch: str  # the remote-side name, refs/heads/ removed
    by_remote: bool  # the remote refused it (a hook, a protection rule), not a stale tip
    reason: str  # what git put in parentheses: "fetch first", "pre-receive hook declined", ...

    @property
    def stale(self) -> bool:
        """The remote has commits the local ref lacks (or the lease no longer holds)."""
        return not self.by_remote and self.reason in (
            "fetch first",
            "non-fast-forward",
            "stale info",
        )


def push_rejections(result: GitResult) -> list[PushRejection]:
    """The refs a failed push lists as rejected, from git's own per-ref lines."""
    rejected = []
    for line in (result.stderr + "\n" + result.stdout).splitlines():
        match = _PUSH_VERDICT.match(line)
        if match:
            rejected.append(
                PushRejection(
                    branch=match["dst"].removeprefix("refs/heads/"),
                    by_remote=match["kind"] == "remote rejected",
                    reason=match["why"],
                )
            )
    return rejected


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
        # A push: what the remote's hooks said (its own words), and git's per-ref verdicts.
        is_remote = line.startswith("remote: ") and not _REMOTE_PROGRESS.match(line[8:])
        is_remote = is_remote and bool(line[8:].strip())
        is_verdict = _PUSH_VERDICT.match(line) is not None
        is_path = line.startswith(("\t", "        ")) and bool(kept) and bool(line.strip())
        if not (is_error or is_remote or is_verdict or is_path):
            continue
        if used == limit:
            kept[-1] += " …"
            break
        used += 1
        if is_error:
            kept.append(line.split(": ", 1)[1].strip())
        elif is_remote:
            kept.append("remote: " + line[8:].strip())
        elif is_verdict:
            kept.append(" ".join(line.split()))
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


class GitRunner:
    """Runs git commands in a repository (or a directory inside one): the raw argv layer that
    the named operations of Git are built on."""

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
        done = proc.run(["git", *args], cwd=self.cwd, env=run_env, input=input, check=False)
        result = GitResult(tuple(args), done.returncode, done.stdout, done.stderr)
        if check and not result.ok:
            raise GitError(result)
        return result

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def lines(self, *args: str) -> list[str]:
        return [line for line in self.run(*args).stdout.splitlines() if line]

    def succeeds(self, *args: str) -> bool:
        return self.run(*args, check=False).ok

    def run_bytes(self, *args: str, input: bytes | None = None) -> bytes:
        """Output as bytes, for file contents that need not be text (`cat-file --batch`)."""
        try:
            return proc.output_bytes(["git", *args], cwd=self.cwd, env=self._env, input=input)
        except proc.ProcError as error:
            failed = error.result
            raise GitError(GitResult(tuple(args), failed.returncode, "", failed.stderr)) from None

    def stream(self, *args: str) -> Iterator[bytes]:
        """Output lines as git produces them, for output too large to hold (`log -p --all`)."""
        try:
            yield from proc.stream(["git", *args], cwd=self.cwd, env=self._env)
        except proc.ProcError as error:
            failed = error.result
            raise GitError(GitResult(tuple(args), failed.returncode, "", failed.stderr)) from None
