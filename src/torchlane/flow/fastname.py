"""`torchlane check-name [NAME]` without click or pydantic, for git hooks and CI scripts.

The naming rules come from the settings snapshot (torchlane.config.snapshot), which the full
configuration loader refreshes whenever pyproject.toml or .torchlane.toml changes. Anything
beyond a plain NAME (options, --help, a detached HEAD, no repository) is left to the full CLI.
"""

import os

from torchlane import naming_rules as naming_core
from torchlane.config.snapshot import load_snapshot
from torchlane.leanfs import find_repo, git_dir_of


def _current_branch(worktree: str) -> str | None:
    try:
        # git allows branch names that are not UTF-8; show them with U+FFFD, never crash.
        path = os.path.join(git_dir_of(worktree), "HEAD")
        with open(path, encoding="utf-8", errors="replace") as head:
            ref = head.read().strip()
    except OSError:
        return None
    return ref.removeprefix("ref: refs/heads/") if ref.startswith("ref: refs/heads/") else None


def main(argv: list[str]) -> int | None:
    if len(argv) > 1 or any(arg.startswith("-") for arg in argv):
        return None
    worktree, git_dir = find_repo(".")
    if git_dir is None:
        return None
    name = argv[0] if argv else _current_branch(worktree)
    if not name:
        return None
    rules = naming_core.NamingRules.from_settings(load_snapshot(worktree).settings)
    problems, _ = naming_core.name_problems(name, rules)
    suggestion = naming_core.suggest(name, rules) if problems else None
    return naming_core.print_verdict(name, problems, suggestion)
