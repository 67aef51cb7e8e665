"""git's own answer to "would merging this branch conflict?", which every prediction must equal."""

from __future__ import annotations

from torchlane.git import Git


def merge_tree_answer(git: Git, branch: str, target: str = "develop") -> tuple[bool, list[str]]:
    """(conflicts, the conflicted paths, sorted) from `git merge-tree --write-tree`."""
    merged = git.run(
        "merge-tree", "--write-tree", "--name-only", "--no-messages", target, branch, check=False
    )
    assert merged.returncode in (0, 1), merged.stderr
    return merged.returncode == 1, sorted({f for f in merged.stdout.splitlines()[1:] if f})
