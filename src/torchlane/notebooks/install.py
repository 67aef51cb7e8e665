"""Install and remove the notebook filter: git config for the driver, and one attributes line.

Config written (scope --local or --global):
    filter.torchlane-nb.process  = "<python>" -c "<ENTRY>" [options]
    filter.torchlane-nb.required = true
    diff.torchlane-nb.textconv   = "<python>" -c "<ENTRY>" [options] --textconv
where ENTRY (filter_process.ENTRY) imports the filter and runs it: `-c` rather than `-m`, whose
runpy costs ~20% of a start-up that every git command pays. Configurations that an older install
wrote (`-m torchlane.notebooks.filter_process`) keep working; installing again rewrites them.
and `*.ipynb filter=torchlane-nb diff=torchlane-nb` in .gitattributes (local) or git's global
attributes file. What install changed in the attributes file is remembered in the driver's own
config section, so that uninstall puts the file back byte for byte.

required = true: if the filter cannot start (torchlane uninstalled, virtual environment moved),
git refuses to stage notebooks instead of silently committing their outputs. The filter itself
never fails a file (it passes bad notebooks through unchanged) and answers smudge requests, so
`required` bites only when the filter is missing, which is exactly when it should.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torchlane.git import Git, open_repo
from torchlane.notebooks.options import StripOptions

DRIVER = "torchlane-nb"
ATTRIBUTES_LINE = f"*.ipynb filter={DRIVER} diff={DRIVER}"
Scope = Literal["local", "global"]

# Our markers, kept inside the driver's section (git ignores keys it does not know).
_ADDED_TO = f"filter.{DRIVER}.torchlaneattributes"
_CREATED = f"filter.{DRIVER}.torchlanecreatedfile"
_ADDED_NEWLINE = f"filter.{DRIVER}.torchlaneaddednewline"


@dataclass(frozen=True, kw_only=True)
class FilterChange:
    scope: Scope
    attributes_file: Path
    process_command: str
    textconv_command: str
    actions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def filter_command(options: StripOptions, python: str | None = None) -> str:
    from torchlane.notebooks.filter_process import ENTRY

    argv = [python or sys.executable, "-c", ENTRY]
    return shlex.join([*argv, *options.to_argv()])


_OLD_ENTRY = "-m torchlane.notebooks.filter_process"


def upgrade_filter_commands(git: Git) -> list[str]:
    """Rewrite this repository's filter commands that an older install wrote with `python -m`
    (runpy: ~20% of the start-up of every git command that starts the filter) to the `-c`
    entry, keeping their interpreter and options. Returns what was changed."""
    from torchlane.notebooks.filter_process import ENTRY

    changed = []
    for key in (f"filter.{DRIVER}.process", f"diff.{DRIVER}.textconv"):
        value = git.config_get(key, "local")
        if value is not None and f" {_OLD_ENTRY} " in f" {value} ":
            git.config_set(key, value.replace(_OLD_ENTRY, f"-c {shlex.quote(ENTRY)}", 1), "local")
            changed.append(f"updated {key} to start without runpy")
    return changed


def install_filter(cwd: Path, scope: Scope, options: StripOptions) -> FilterChange:
    git = _git_for(cwd, scope)
    process = filter_command(options)
    textconv = f"{process} --textconv"
    actions: list[str] = []
    for key, value in (
        (f"filter.{DRIVER}.process", process),
        (f"filter.{DRIVER}.required", "true"),
        (f"diff.{DRIVER}.textconv", textconv),
    ):
        if git.config_get(key, scope) != value:
            git.config_set(key, value, scope)
            actions.append(f"set {key}")
    attributes = _attributes_file(git, scope)
    if git.config_get(_ADDED_TO, scope) is None:
        actions += _add_attributes_line(git, scope, attributes)
    warnings = _effective_attribute_warnings(git) if scope == "local" else []
    return FilterChange(
        scope=scope,
        attributes_file=attributes,
        process_command=process,
        textconv_command=textconv,
        actions=actions,
        warnings=warnings,
    )


def uninstall_filter(cwd: Path, scope: Scope) -> FilterChange:
    git = _git_for(cwd, scope)
    attributes = _attributes_file(git, scope)
    process = git.config_get(f"filter.{DRIVER}.process", scope) or ""
    textconv = git.config_get(f"diff.{DRIVER}.textconv", scope) or ""
    actions: list[str] = []
    added_to = git.config_get(_ADDED_TO, scope)
    if added_to is not None:
        actions += _remove_attributes_line(
            Path(added_to),
            created=git.config_get(_CREATED, scope) == "true",
            added_newline=git.config_get(_ADDED_NEWLINE, scope) == "true",
        )
    for section in (f"filter.{DRIVER}", f"diff.{DRIVER}"):
        if git.config_remove_section(section, scope):
            actions.append(f"removed [{section.replace('.', ' ', 1)}]")
    return FilterChange(
        scope=scope,
        attributes_file=attributes,
        process_command=process,
        textconv_command=textconv,
        actions=actions,
    )


def _git_for(cwd: Path, scope: Scope) -> Git:
    return open_repo(cwd) if scope == "local" else Git(cwd)


def _attributes_file(git: Git, scope: Scope) -> Path:
    if scope == "local":
        return git.cwd / ".gitattributes"
    configured = git.config_get("core.attributesFile", "global")
    if configured:
        return Path(os.path.expanduser(configured))
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(config_home) / "git" / "attributes"


def _add_attributes_line(git: Git, scope: Scope, path: Path) -> list[str]:
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    if existing is not None and ATTRIBUTES_LINE in existing.splitlines():
        return []  # someone (a teammate's commit) already declared it; it is not ours to remove
    needs_newline = existing is not None and existing != "" and not existing.endswith("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8", newline="") as stream:
        stream.write(("\n" if needs_newline else "") + ATTRIBUTES_LINE + "\n")
    git.config_set(_ADDED_TO, str(path.resolve()), scope)
    git.config_set(_CREATED, "true" if existing is None else "false", scope)
    git.config_set(_ADDED_NEWLINE, "true" if needs_newline else "false", scope)
    return [f"added `{ATTRIBUTES_LINE}` to {path}"]


def _remove_attributes_line(path: Path, *, created: bool, added_newline: bool) -> list[str]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    ours = ("\n" if added_newline else "") + ATTRIBUTES_LINE + "\n"
    if text.endswith(ours):
        text = text[: -len(ours)]
    elif f"{ATTRIBUTES_LINE}\n" in text:  # lines were added after ours: remove just our line
        lines = text.splitlines(True)
        lines.remove(f"{ATTRIBUTES_LINE}\n")
        text = "".join(lines)
    else:
        return [f"left {path} alone: our line is no longer in it"]
    if created and not text.strip():
        path.unlink()
        return [f"removed {path} (install had created it)"]
    path.write_text(text, encoding="utf-8", newline="")
    return [f"removed `{ATTRIBUTES_LINE}` from {path}"]


def _effective_attribute_warnings(git: Git) -> list[str]:
    """Attribute files with higher precedence (.git/info/attributes, a closer .gitattributes)
    can still route notebooks to another filter; ask git what a notebook really gets."""
    out = git.run("check-attr", "filter", "diff", "--", "probe.ipynb", check=False).stdout
    warnings = []
    for line in out.splitlines():
        attribute, _, value = line.partition(": ")[2].partition(": ")
        if value.strip() != DRIVER:
            warnings.append(
                f"notebooks get {attribute}={value.strip()} from a file that overrides "
                f".gitattributes (see `git check-attr {attribute} -- some.ipynb`)."
            )
    if not warnings:
        return []
    return [*warnings, "Remove the other *.ipynb line (e.g. in .git/info/attributes)."]


def filtered_paths(git: Git, paths: list[str]) -> set[str]:
    """The paths (relative to git.cwd) git sends through torchlane's notebook filter: the driver
    is configured and the attributes route them to it."""
    if not paths or not git.run("config", "--get", f"filter.{DRIVER}.process", check=False).ok:
        return set()
    # On stdin, not argv: thousands of staged notebooks exceed the argument list limit.
    listed = "".join(f"{path}\0" for path in paths)
    out = git.run("check-attr", "--stdin", "-z", "filter", input=listed, check=False).stdout
    fields = out.split("\0")
    return {fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == DRIVER}


def committed_forms(paths: list[Path]) -> dict[Path, bytes | None]:
    """For the notebooks among `paths` that the filter strips: their staged content (None when
    not in the index). Empty outside a repository or without the filter."""
    from torchlane.secrets.sources import index_blobs

    if not paths:
        return {}
    root = Git(paths[0].resolve().parent).work_tree_root()
    if root is None:
        return {}
    top = Git(root)
    relative = {}
    for path in paths:
        try:
            relative[path.resolve().relative_to(root).as_posix()] = path
        except ValueError:
            continue
    chosen = sorted(filtered_paths(top, list(relative)))
    staged = dict(index_blobs(top, chosen))
    return {relative[name]: staged.get(name) for name in chosen}
