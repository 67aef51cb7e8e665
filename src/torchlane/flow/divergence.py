"""Local branches against their remote-tracking refs: refuse, and explain the fix, before changing anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torchlane.errors import TorchlaneError
from torchlane.git import Git


@dataclass(frozen=True)
class Comparison:
    branch: str
    remote_ref: str
    ahead: int  # commits on the local branch only
    behind: int  # commits on the remote-tracking ref only

    @property
    def state(self) -> Literal["same", "ahead", "behind", "diverged"]:
        if self.ahead and self.behind:
            return "diverged"
        if self.behind:
            return "behind"
        return "ahead" if self.ahead else "same"


def compare(git: Git, remote: str, branch: str) -> Comparison | None:
    """None when the branch has never been on the remote (no remote-tracking ref)."""
    remote_ref = f"refs/remotes/{remote}/{branch}"
    if git.ref_value(remote_ref) is None or git.ref_value(f"refs/heads/{branch}") is None:
        return None
    ahead, behind = git.left_right_counts(f"refs/heads/{branch}", remote_ref)
    return Comparison(branch, f"{remote}/{branch}", ahead, behind)


def _plural(count: int) -> str:
    return f"{count} commit" + ("" if count == 1 else "s")


def _fix(comparison: Comparison, current: str | None, remote: str) -> str:
    name = comparison.branch
    if comparison.state == "behind":
        if name == current:
            return f"`git pull --ff-only {remote} {name}`"
        return f"`git fetch {remote} {name}:{name}` (fast-forwards it without switching)"
    return (
        f"`git switch {name} && git pull --no-rebase {remote} {name}` (a merge commit), or "
        f"`git pull --rebase` if its local commits were never pushed; if they should not be "
        f"there at all, `git branch -f {name} {comparison.remote_ref}` (run it from another branch)"
    )


def require_up_to_date(git: Git, remote: str, branches: list[str], action: str) -> list[str]:
    """Refuse when any branch is behind or diverged from the remote; return the ahead ones."""
    current = git.current_branch()
    problems: list[str] = []
    fixes: list[str] = []
    ahead: list[str] = []
    for branch in dict.fromkeys(branches):
        comparison = compare(git, remote, branch)
        if comparison is None or comparison.state == "same":
            continue
        if comparison.state == "ahead":
            ahead.append(branch)
            continue
        if comparison.state == "behind":
            problems.append(
                f"'{branch}' is {_plural(comparison.behind)} behind {comparison.remote_ref}"
            )
        else:
            problems.append(
                f"'{branch}' and {comparison.remote_ref} have diverged ({_plural(comparison.ahead)} "
                f"only here, {_plural(comparison.behind)} only on {remote})"
            )
        fixes.append(f"for '{branch}': {_fix(comparison, current, remote)}")
    if problems:
        raise TorchlaneError(
            f"Cannot {action}: " + "; ".join(problems) + ". Nothing was changed.",
            "Bring them up to date first, then run the command again: " + "; ".join(fixes) + ".",
        )
    return ahead
