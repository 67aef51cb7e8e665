"""hooks install, hooks uninstall."""

from __future__ import annotations

from pathlib import Path

import click

from torchlane import render
from torchlane.commands.options import json_option, repo_option

_SAY = {
    "installed": "installed",
    "updated": "updated (already torchlane's)",
    "chained": "installed; the existing hook now runs first from",
    "removed": "removed",
    "restored": "removed; restored the previous hook from",
    "untouched": "left alone: it is not torchlane's",
    "not installed": "was not installed",
}


@click.group("hooks")
def hooks_group() -> None:
    """Git hooks: pre-commit (notebooks, secrets, environment) and pre-push (names, main/develop, secrets)."""


def _show(result: object, as_json: bool) -> None:
    from torchlane.hooks.install import HooksResult

    assert isinstance(result, HooksResult)
    if as_json:
        render.print_json(result)
        return
    for change in result.changes:
        suffix = f" {change.chained.name}" if change.chained and change.action != "updated" else ""
        render.say(f"{change.hook}: {_SAY[change.action]}{suffix}")
    for update in result.updated:
        render.say(f"notebook filter: {update}")
    render.say(f"Hooks directory: {result.hooks_dir}")


@hooks_group.command("install")
@repo_option  # needs the repository, not its settings: works even when they are broken
@json_option
def install_command(repo: Path | None, as_json: bool) -> None:
    """Install the hooks (into core.hooksPath if set), chaining any hook already there."""
    from torchlane.git import open_repo
    from torchlane.hooks.install import install_hooks

    result = install_hooks(open_repo(repo))
    _show(result, as_json)
    if not as_json:
        render.say(f"The hooks run {result.python}; reinstall if that environment moves.")


@hooks_group.command("uninstall")
@repo_option  # needs the repository, not its settings: works even when they are broken
@json_option
def uninstall_command(repo: Path | None, as_json: bool) -> None:
    """Remove torchlane's hooks and put back the hooks they chained."""
    from torchlane.git import open_repo
    from torchlane.hooks.install import uninstall_hooks

    _show(uninstall_hooks(open_repo(repo)), as_json)
