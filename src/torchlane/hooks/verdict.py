"""The pre-commit hook's last passing verdict, replayed while nothing it depends on has changed.

The notebook and secret checks judge the staged content: the index (its blobs) against HEAD,
under the settings and the secrets baseline. When the index file, HEAD, the current branch's ref,
packed-refs, pyproject.toml, .torchlane.toml and the baseline all have the same stat signature
(mtime, size, inode) as when the hook last passed, and torchlane's code is the same, the answer
cannot have changed: the hook replays it without listing the index, reading blobs or importing
the scanner (a second `git commit` after an aborted message, a hook re-run by a tool). Only
passing verdicts are kept, so a refusal always prints its reasons afresh; the environment check
(which has its own cache, env/check/fast.py) still runs on the environment files staged.

A signature taken while a file may still change within the same timestamp tick (leanfs.RACY_NS)
is not trusted: such a verdict is not kept. Imports only os, sys, time and marshal.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from torchlane import __version__
from torchlane.env.check.fast import _branch_refs
from torchlane.leanfs import RACY_NS, find_repo, stat_signature, write_atomic

CACHE_NAME = "precommit.cache"
_FORMAT = 1
# The code the verdict comes from: an edited checkout (editable install) must not replay. Of
# env/, only which files count as environment files (the check itself keeps its own cache).
_CODE_DIRS = ("hooks", "secrets", "notebooks")
_CODE_FILES = (os.path.join("env", "files.py"),)


def _code_stamp() -> list[object]:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stamp: list[object] = [__version__, _FORMAT, sys.version_info[:2]]
    for name in _CODE_DIRS:
        folder = os.path.join(package, name)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
        except OSError:
            names = []
        stamp.extend(stat_signature(os.path.join(folder, n)) for n in names)
    stamp.extend(stat_signature(os.path.join(package, name)) for name in _CODE_FILES)
    return stamp


class Verdict:
    """Where the verdict for one work tree and index is kept, and what it depends on."""

    def __init__(self, start: str, index_file: str | None, baseline: str) -> None:
        root, git_dir = find_repo(start)
        self.path = os.path.join(git_dir, "torchlane", CACHE_NAME) if git_dir else None
        index = os.path.abspath(index_file) if index_file else None
        if git_dir and index is None:
            index = os.path.join(git_dir, "index")
        self.watched = [] if git_dir is None else [
            index or "", os.path.join(git_dir, "HEAD"), *_branch_refs(git_dir),
            os.path.join(root, "pyproject.toml"), os.path.join(root, ".torchlane.toml"),
            os.path.join(root, baseline),
        ]  # fmt: skip

    def replay(self) -> list[str] | None:
        """The environment files staged when the hook last passed on exactly this state, or None
        (no verdict, or anything it depends on changed)."""
        if self.path is None:
            return None
        try:
            with open(self.path, "rb") as handle:
                entry = marshal.load(handle)
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if not isinstance(entry, dict) or entry.get("watched") != self.watched:
            return None
        if entry.get("stats") != [stat_signature(p) for p in self.watched]:
            return None
        environment = entry.get("environment")
        if entry.get("code") != _code_stamp() or not isinstance(environment, list):
            return None
        return environment

    def keep(self, environment: list[str], started_ns: int) -> None:
        """Remember a pass (the notebooks and secrets checks found nothing) begun at started_ns."""
        if self.path is None:
            return
        stats = [stat_signature(p) for p in self.watched]
        if any(s is not None and s[0] >= started_ns - RACY_NS for s in stats):
            return  # a file changed just now may change again unseen within the same tick
        entry = {
            "watched": self.watched,
            "stats": stats,
            "code": _code_stamp(),
            "environment": environment,
        }
        try:  # noqa: SIM105  (contextlib would cost the hook path an import)
            write_atomic(self.path, marshal.dumps(entry))
        except (OSError, ValueError):
            pass  # a read-only .git only costs speed


def now_ns() -> int:
    return time.time_ns()
