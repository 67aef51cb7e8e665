"""The journal that turns `finish` and `sync` into transactions that survive conflicts and crashes.

Before an operation changes anything it writes `<git common dir>/torchlane/operation.json`: what
runs, where HEAD was, the value of every ref it may move, create or delete, and its steps with a
pointer to the step being done. `--continue` resumes from the pointer (every step can tell whether
it already happened); `--abort` puts every recorded ref, HEAD, the index and the work tree back.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from torchlane.errors import TorchlaneError
from torchlane.git import Git

JOURNAL_VERSION = 1
JOURNAL_NAME = "operation.json"

Operation = Literal["finish", "sync"]
StepKind = Literal[
    "merge", "rebase", "tag", "switch", "delete-branch", "push", "push-delete", "backup"
]
# Step states. "conflict" means we stopped and told the user to resolve files: if the merge or
# rebase is gone when they come back, they ended it by hand and we must not guess.
StepState = Literal["pending", "started", "conflict", "done", "skipped"]
PENDING: Final = "pending"
STARTED: Final = "started"
CONFLICT: Final = "conflict"
DONE: Final = "done"
SKIPPED: Final = "skipped"


@dataclass
class Step:
    """One idempotent unit of an operation. Which fields matter depends on `kind`."""

    kind: StepKind
    target: str = ""  # branch (merge/rebase/switch/delete/push-delete) or full ref (tag/backup)
    source: str = ""  # what is merged in / rebased onto / tagged / required to contain the branch
    message: str = ""
    sha: str = ""  # the commit pinned when the step starts (source tip, tagged commit, lease)
    refs: list[str] = field(default_factory=list)  # refspecs to push
    config: list[str] = field(default_factory=list)  # a deleted branch's `branch.<name>.*` lines
    state: StepState = PENDING
    result: str = ""  # the commit the step produced, when it produced one

    def describe(self) -> str:
        source = self.source.removeprefix("refs/heads/")
        if self.kind == "merge":
            return f"merge {source} into {self.target}"
        if self.kind == "rebase":
            return f"rebase {self.target} onto {source}"
        if self.kind == "tag":
            return f"tag {source} as {self.target.removeprefix('refs/tags/')}"
        if self.kind == "switch":
            return f"switch to {self.target}"
        if self.kind == "delete-branch":
            return f"delete the branch {self.target}"
        if self.kind == "push":
            return "push " + ", ".join(r.split(":")[-1].split("/", 2)[-1] for r in self.refs)
        if self.kind == "push-delete":
            return f"delete {self.target} on {self.source}"
        return f"keep a backup of {source} at {self.target}"


@dataclass
class Journal:
    operation: Operation
    arguments: dict[str, Any]
    worktree: str
    head: str  # "refs/heads/<branch>" when HEAD was on a branch, else the detached commit
    refs: dict[
        str, str | None
    ]  # every ref the operation may touch -> its value before (None: absent)
    steps: list[Step]
    current: int = 0
    produced: dict[str, list[str]] = field(default_factory=dict)  # values torchlane gave each ref
    started_at: str = ""
    version: int = JOURNAL_VERSION
    # The work tree's tracked content when we stopped on conflicts (a tree id; "" when clean or
    # not paused): --abort saves what differs from it, the work the user did during the pause.
    paused_tree: str = ""

    @property
    def step(self) -> Step | None:
        return self.steps[self.current] if self.current < len(self.steps) else None

    def note_produced(self, ref: str, value: str | None) -> None:
        if value is not None:
            self.produced.setdefault(ref, []).append(value)

    def summary(self) -> str:
        subject = self.arguments.get("branch") or ""
        step = self.step
        head = f"`torchlane {self.operation}` of {subject}"
        if step is None:
            return head
        return f"{head}, stopped at step {self.current + 1}/{len(self.steps)}: {step.describe()}"


_COMMON_DIRS: dict[Path, Path] = {}  # one `git rev-parse` per work tree, not one per save


def journal_path(git: Git) -> Path:
    common = _COMMON_DIRS.get(git.cwd)
    if common is None:
        common = _COMMON_DIRS[git.cwd] = git.git_dir()
    return common / "torchlane" / JOURNAL_NAME


def load_journal(git: Git) -> Journal | None:
    path = journal_path(git)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = [Step(**s) for s in data.pop("steps")]
        journal = Journal(steps=steps, **data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError) as exc:
        raise TorchlaneError(
            f"The operation journal {path} cannot be read ({exc}).",
            "It was written by another torchlane version or edited by hand; inspect it, "
            "restore your branches from it by hand if needed, then delete it.",
        ) from exc
    if journal.version != JOURNAL_VERSION:
        raise TorchlaneError(
            f"The operation journal {path} has version {journal.version}; this torchlane "
            f"reads version {JOURNAL_VERSION}.",
            "Finish it with the torchlane version that started it.",
        )
    return journal


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_journal(git: Git, journal: Journal, *, create: bool = False) -> None:
    """Write atomically (temp file, fsync, rename). `create` refuses to replace another journal."""
    path = journal_path(git)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(asdict(journal), indent=2) + "\n"
    fd, temp_name = tempfile.mkstemp(prefix=".operation-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if create:
            # link() fails if the journal exists: two operations started at once cannot both win.
            try:
                os.link(temp_name, path)
            except FileExistsError:
                require_no_operation(git, journal.operation)
                raise
            os.unlink(temp_name)
        else:
            os.replace(temp_name, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def remove_journal(git: Git) -> None:
    path = journal_path(git)
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def new_journal(
    git: Git, operation: Operation, arguments: dict[str, Any], steps: list[Step], refs: list[str]
) -> Journal:
    """Record where HEAD is and the value of every ref the steps may touch."""
    return Journal(
        operation=operation,
        arguments=arguments,
        worktree=str(git.cwd),
        head=git.head(),
        refs={ref: git.ref_value(ref) for ref in dict.fromkeys(refs)},
        steps=steps,
        started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


def require_no_operation(git: Git, attempted: str) -> None:
    """Refuse to start `attempted` while another torchlane operation is unfinished."""
    journal = load_journal(git)
    if journal is None:
        return
    raise TorchlaneError(
        f"Cannot run `torchlane {attempted}`: {journal.summary()} is still in progress.",
        f"Complete it with `torchlane {journal.operation} --continue`, or put everything back "
        f"with `torchlane {journal.operation} --abort`.",
    )


def git_operation_in_progress(git: Git) -> str | None:
    """A merge, rebase, cherry-pick or revert git itself has in progress in this work tree."""
    markers = {
        "MERGE_HEAD": "merge",
        "rebase-merge": "rebase",
        "rebase-apply": "rebase",
        "CHERRY_PICK_HEAD": "cherry-pick",
        "REVERT_HEAD": "revert",
    }
    for path, name in zip(git.git_paths(*markers), markers.values(), strict=True):
        if path.exists():
            return name
    return None


def unmerged_paths(git: Git) -> list[str]:
    return git.unmerged_paths()
