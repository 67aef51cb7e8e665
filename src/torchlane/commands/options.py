"""Options shared by every command family."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def repo_option(func: F) -> F:
    return click.option(
        "-C",
        "--repo",
        "repo",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Run as if started in this directory.",
    )(func)


@overload
def with_project(func: F, /) -> F: ...


@overload
def with_project(
    *, required: bool = True, keep_repo: bool = False, tolerate_invalid: bool = False
) -> Callable[[F], F]: ...


def with_project(
    func: F | None = None,
    /,
    *,
    required: bool = True,
    keep_repo: bool = False,
    tolerate_invalid: bool = False,
) -> F | Callable[[F], F]:
    """Add `-C/--repo` and hand the command the project there as `project`.

    The repository is opened and its configuration loaded once, before the command runs, so every
    command reports a missing repository or a broken configuration with the same error, and
    feature code is given the project instead of reopening it from a path.

    required=False is for commands that also work outside a git repository (machine checks, file
    generators): the project is then the directory itself (see `open_directory`).
    keep_repo=True also passes `repo`, the -C directory as given, for commands that resolve their
    own arguments against it the way `git -C` does.
    tolerate_invalid=True is for read-only commands (status, verify...): a typo in one settings
    section must not stop them, so that section falls back to its defaults, with a warning on
    stderr naming the problem. Commands that change anything stay strict.
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run_in_project(*args: Any, repo: Path | None, **kwargs: Any) -> Any:
            # Imported here: `torchlane --help` must not import pydantic and the configuration.
            from torchlane.project import open_directory, open_project

            if required:
                project = open_project(repo, tolerant=tolerate_invalid)
            else:
                project = open_directory(repo)
            for warning in project.loaded.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            if keep_repo:
                kwargs["repo"] = repo
            return command(*args, project=project, **kwargs)

        return repo_option(run_in_project)  # type: ignore[return-value]

    return decorate if func is None else decorate(func)
