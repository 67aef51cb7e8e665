"""A temporary object directory for objects nothing will keep: merge results, synthetic trees.

`git merge-tree` writes every tree (and every conflicted file) it builds into the object store:
~5,000 loose objects, ~29 MB, for 900 merges, new ones whenever the base moves, which nothing
ever uses. The merges of `torchlane status` therefore write into a scratch object directory (on
/dev/shm where there is one) that reads the repository's objects as an alternate and is removed
afterwards; loose objects there are stored uncompressed (UNCOMPRESSED, for git's command line).
On a repository that does not hold them yet this about halves merge-tree's CPU (1.6 s -> 0.9 s
for 1,000 merges), and the repository gains nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torchlane.git import Git

_SCRATCH_PARENT = Path("/dev/shm")  # a private mkdtemp directory is made inside
UNCOMPRESSED = ("-c", "core.looseCompression=0")


@contextmanager
def scratch_objects(git: Git) -> Iterator[dict[str, str]]:
    """The environment that sends the objects git writes to a temporary object directory,
    reading the repository's own (and its alternates) as an alternate; removed on exit."""
    objects = (git.cwd / git.out("rev-parse", "--git-path", "objects")).resolve()
    parent = _SCRATCH_PARENT if os.access(_SCRATCH_PARENT, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="torchlane-merge-", dir=parent) as scratch:
        yield {
            "GIT_OBJECT_DIRECTORY": scratch,
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects),
        }
