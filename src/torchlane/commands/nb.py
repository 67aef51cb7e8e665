"""nb strip, nb check, nb export, nb install-filter, nb uninstall-filter."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from torchlane import render
from torchlane.commands.options import json_option, repo_option

if TYPE_CHECKING:
    from torchlane.notebooks.files import NotebookResult
    from torchlane.notebooks.install import FilterChange
    from torchlane.notebooks.options import StripOptions

F = TypeVar("F", bound=Callable[..., Any])

_STRIP_FLAGS = (
    ("--keep-count", "Keep execution counts."),
    ("--keep-output", "Keep every cell's outputs."),
    ("--keep-id", "Keep cell ids instead of renumbering them 0, 1, 2..."),
    ("--drop-empty-cells", "Remove cells whose source is empty or only whitespace."),
    ("--strip-init-cells", "Strip outputs of init cells too."),
)
_STRIP_LISTS = (
    ("--extra-keys", "Also remove these keys, e.g. 'metadata.foo cell.metadata.bar'."),
    ("--keep-metadata-keys", "Keep these keys although stripped by default."),
    ("--drop-tagged-cells", "Remove cells carrying any of these tags."),
    ("--drop-output-type", "Drop outputs of these types, e.g. 'stream:stderr error'."),
    ("--keep-output-type", "Keep outputs of these types, e.g. 'stream'."),
)


class ListOptionsCommand(click.Command):
    """Accept nbstripout's `--keep-output-type stream error` as well as `'stream error'`.

    click options take one value, so the words after a list option are joined into that value
    before click parses: the list runs until the next option, `--`, or a word that names a
    notebook or an existing path (`nb strip --keep-output-type stream a.ipynb` strips a.ipynb)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_list_values(args))


def _ends_list(word: str) -> bool:
    return word.startswith("-") or word.endswith(".ipynb") or Path(word).exists()


def join_list_values(args: list[str]) -> list[str]:
    names = {flag for flag, _ in _STRIP_LISTS}
    joined: list[str] = []
    position = 0
    while position < len(args):
        word = args[position]
        joined.append(word)
        position += 1
        if word == "--":
            joined += args[position:]
            break
        if word in names and position < len(args):
            values = [args[position]]
            position += 1
            while position < len(args) and not _ends_list(args[position]):
                values.append(args[position])
                position += 1
            joined.append(" ".join(values))
    return joined


def strip_options(func: F) -> F:
    """The stripping choices, as flags that add to [tool.torchlane.notebooks]."""
    for flag, help_text in reversed(_STRIP_LISTS):
        func = click.option(flag, default="", metavar="'A B'", help=help_text)(func)
    func = click.option(
        "--max-size", default=None, metavar="SIZE", help="Keep outputs up to this size (10K)."
    )(func)
    for flag, help_text in reversed(_STRIP_FLAGS):
        func = click.option(flag, is_flag=True, help=help_text)(func)
    return func


def _options(start: Path, flags: dict[str, Any]) -> StripOptions:
    from torchlane.errors import usage_error
    from torchlane.notebooks.options import OptionError, StripOptions, parse_size
    from torchlane.notebooks.settings import load_strip_options

    base = load_strip_options(start)

    def joined(name: str, extra: str) -> tuple[str, ...]:
        return (*getattr(base, name), *extra.split())

    try:
        return StripOptions(
            keep_count=base.keep_count or flags["keep_count"],
            keep_output=True if flags["keep_output"] else base.keep_output,
            keep_id=base.keep_id or flags["keep_id"],
            drop_empty_cells=base.drop_empty_cells or flags["drop_empty_cells"],
            strip_init_cells=base.strip_init_cells or flags["strip_init_cells"],
            extra_keys=joined("extra_keys", flags["extra_keys"]),
            keep_metadata_keys=joined("keep_metadata_keys", flags["keep_metadata_keys"]),
            drop_tagged_cells=joined("drop_tagged_cells", flags["drop_tagged_cells"]),
            drop_output_types=joined("drop_output_types", flags["drop_output_type"]),
            keep_output_types=joined("keep_output_types", flags["keep_output_type"]),
            max_size=base.max_size if flags["max_size"] is None else parse_size(flags["max_size"]),
        )
    except OptionError as exc:
        raise usage_error(
            f"Invalid stripping option: {exc}.", "See `torchlane nb strip --help`."
        ) from None


@click.group("nb")
def nb_group() -> None:
    """Jupyter notebooks: strip outputs, check, export to modules, and the git filter."""


def _report(results: list[NotebookResult], as_json: bool, changed: str, summary: str) -> int:
    """Print one line per notebook that `changed` names (an Outcome value) or that failed."""
    from torchlane.notebooks.files import Outcome

    failed = any(r.failed for r in results)
    if as_json:
        render.print_json({"notebooks": results, "failed": failed})
        return 1 if failed else 0
    count = 0
    for result in results:
        if result.outcome in (Outcome.INVALID, Outcome.MISSING):
            print(f"{result.path}: {result.reason}; left untouched", file=sys.stderr)
        elif result.outcome.value == changed:
            count += 1
            render.say(str(result.path))
    render.say(summary.format(count=count, total=len(results)))
    return 1 if failed else 0


@nb_group.command("strip", cls=ListOptionsCommand)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@strip_options
@json_option
def strip_command(paths: tuple[Path, ...], as_json: bool, **flags: Any) -> int:
    """Strip outputs and volatile metadata from notebooks (files or directories), in place."""
    from torchlane.notebooks.files import strip_paths

    results = strip_paths(paths, _options(paths[0], flags))
    return _report(results, as_json, "stripped", "Stripped {count} of {total} notebook(s).")


@nb_group.command("check", cls=ListOptionsCommand)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@strip_options
@json_option
def check_command(paths: tuple[Path, ...], as_json: bool, **flags: Any) -> int:
    """Exit 1 and list the notebooks that `nb strip` would change (or cannot read)."""
    from torchlane.notebooks.files import check_paths, find_notebooks
    from torchlane.notebooks.install import committed_forms

    committed = committed_forms(list(find_notebooks(paths)))
    results = check_paths(paths, _options(paths[0], flags), committed)
    code = _report(
        results, as_json, "needs-strip", "{count} of {total} notebook(s) need stripping."
    )
    if not as_json and any(r.outcome.value == "needs-strip" for r in results):
        print("hint: run `torchlane nb strip` on them.", file=sys.stderr)
    return code


@nb_group.command("export")
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("module", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--style",
    type=click.Choice(["functions", "percent"]),
    default="functions",
    show_default=True,
    help="functions: a function per code cell and main(); percent: a jupytext `# %%` script.",
)
@click.option("--force", is_flag=True, help="Overwrite MODULE if it exists.")
@json_option
def export_command(notebook: Path, module: Path, style: str, force: bool, as_json: bool) -> None:
    """Turn NOTEBOOK into the Python module MODULE."""
    from torchlane.errors import TorchlaneError
    from torchlane.notebooks.export import export_notebook

    if module.exists() and not force:
        raise TorchlaneError(f"{module} already exists.", "Pass --force to overwrite it.")
    result = export_notebook(notebook, module, "percent" if style == "percent" else "functions")
    if as_json:
        render.print_json(result)
        return
    render.say(f"Wrote {module} ({result.code_cells} code cell(s), style {style}).")
    if result.commented_magics:
        render.say(f"{result.commented_magics} IPython magic line(s) commented out.")


def _scope_option(func: F) -> F:
    return click.option(
        "--global",
        "scope",
        flag_value="global",
        help="Configure git for every repository of this user.",
    )(
        click.option(
            "--local", "scope", flag_value="local", default=True, help="This repository (default)."
        )(func)
    )


def _print_change(change: FilterChange, as_json: bool, nothing: str) -> None:
    if as_json:
        render.print_json(change)
        return
    for action in change.actions:
        render.say(f"- {action}")
    for warning in change.warnings:
        render.say(f"warning: {warning}", stderr=True)
    if not change.actions:
        render.say(nothing)


@nb_group.command("install-filter", cls=ListOptionsCommand)
@_scope_option
@strip_options
@repo_option  # --global works in any directory; --local opens the repository itself
@json_option
def install_filter_command(scope: str, repo: Path | None, as_json: bool, **flags: Any) -> None:
    """Strip notebooks as git stages them (one filter process per git command)."""
    from torchlane.notebooks.install import install_filter

    where = repo or Path.cwd()
    change = install_filter(
        where, "global" if scope == "global" else "local", _options(where, flags)
    )
    _print_change(change, as_json, "The notebook filter was already installed.")
    if not as_json and change.actions:
        render.say("Notebooks are now stripped when staged; `git diff` shows them stripped.")


@nb_group.command("uninstall-filter")
@_scope_option
@repo_option  # --global works in any directory; --local opens the repository itself
@json_option
def uninstall_filter_command(scope: str, repo: Path | None, as_json: bool) -> None:
    """Remove the notebook filter and what install-filter added to the attributes file."""
    from torchlane.notebooks.install import uninstall_filter

    change = uninstall_filter(repo or Path.cwd(), "global" if scope == "global" else "local")
    _print_change(change, as_json, "The notebook filter was not installed; nothing to undo.")
