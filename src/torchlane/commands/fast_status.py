"""`torchlane status [--json] [--no-conflicts] [-C DIR]` without click or pydantic.

Status is run often and on large repositories, where importing click, pydantic and the settings
schema was a fifth of a re-run's time. The settings come from the snapshot
(torchlane.config.snapshot), which the full loader refreshes whenever they change. Anything else
(other options, --help, GIT_DIR set, a repository without main and develop, settings the
loader rejects) is handed to the full CLI, which reports it as usual.
"""

from __future__ import annotations

import os
from pathlib import Path

from torchlane import render
from torchlane.commands.status_view import print_status
from torchlane.config.snapshot import load_snapshot
from torchlane.flow.status import StatusContext, branch_tips, collect
from torchlane.git import Git
from torchlane.leanfs import find_repo
from torchlane.naming_rules import NamingRules


def _arguments(argv: list[str]) -> tuple[bool, bool, str] | None:
    """(--json, --no-conflicts, directory), or None for anything else."""
    as_json = no_conflicts = False
    directory = "."
    rest = iter(argv)
    for arg in rest:
        if arg == "--json":
            as_json = True
        elif arg == "--no-conflicts":
            no_conflicts = True
        elif arg in ("-C", "--repo"):
            directory = next(rest, "")
        elif arg.startswith("--repo="):
            directory = arg.removeprefix("--repo=")
        else:
            return None
    return (as_json, no_conflicts, directory) if directory else None


def main(argv: list[str]) -> int | None:
    parsed = _arguments(argv)
    if parsed is None or "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return None
    as_json, no_conflicts, directory = parsed
    if not os.path.isdir(directory):
        return None
    worktree, git_dir = find_repo(directory)
    if git_dir is None:
        return None
    settings = load_snapshot(worktree).settings
    rules = NamingRules.from_settings(settings)
    git = Git(Path(worktree))
    tips = branch_tips(git)
    if rules.main not in tips or rules.develop not in tips:
        return None  # the CLI says that the branch model is not set up here
    flow = settings["flow"]
    context = StatusContext(
        git=git,
        rules=rules,
        stale_after_days=float(str(flow["stale_after_days"])),
        long_lived_after_days=float(str(flow["long_lived_after_days"])),
        state_dir=git.git_dir() / "torchlane",
    )
    report = collect(context, predict_conflicts=not no_conflicts, tips=tips)
    if as_json:
        render.print_json(report)
    else:
        print_status(report)
    return 0
