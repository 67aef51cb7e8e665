"""`torchlane hooks install/uninstall`: small sh scripts that chain, never clobber.

An existing hook is moved to `<hook>.torchlane-chained` and run first by ours (same arguments,
same stdin); uninstall moves it back. With `core.hooksPath` set, the hooks go into that
directory the same way (pre-commit refuses in that case; we do not).
"""

from __future__ import annotations

import os
import shlex
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.hooks.chain import CHAINED_SUFFIX
from torchlane.leanfs import write_atomic

MARKER = "# torchlane-hook v1"
HOOK_MODULES = {"pre-commit": "torchlane.hooks.precommit", "pre-push": "torchlane.hooks.prepush"}


HookAction = Literal[
    "installed", "updated", "chained", "removed", "restored", "untouched", "not installed"
]


@dataclass(frozen=True)
class HookChange:
    hook: str
    path: Path
    action: HookAction
    chained: Path | None = None


@dataclass(frozen=True)
class HooksResult:
    hooks_dir: Path
    python: str
    changes: list[HookChange]
    # Other hook-path configuration brought up to date (the notebook filter's command).
    updated: list[str] = field(default_factory=list)


def hooks_dir(git: Git) -> Path:
    """Where git runs hooks from: `core.hooksPath` if set, else .git/hooks."""
    return git.git_path("hooks")


_TORCHLANE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding torchlane/


def _import_root() -> str | None:
    """The directory torchlane is imported from, if the interpreter would not find it alone
    (a source checkout on PYTHONPATH rather than an installed package)."""
    root = _TORCHLANE_ROOT
    installed = {
        str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]
    }
    return None if root in installed else root


def _paths_without_site(python: str) -> list[str] | None:
    """Where a hook run by `python -S` finds torchlane and what it may import later (pydantic on
    a settings-snapshot miss): torchlane's own root and this interpreter's site-packages. Known
    only for the interpreter running now; None for another one (its hooks keep `site`)."""
    if Path(python).resolve() != Path(sys.executable).resolve():
        return None
    paths = [_TORCHLANE_ROOT, *site.getsitepackages()]
    user = site.getusersitepackages()
    if site.ENABLE_USER_SITE and os.path.isdir(user):
        paths.append(user)
    return list(dict.fromkeys(paths))


def script(
    hook: str, python: str, import_root: str | None, lean_paths: list[str] | None = None
) -> str:
    """The hook. With `lean_paths` (_paths_without_site), Python starts with -S: the `site`
    module's start-up is ~4 ms of the ~12 ms a hook with nothing to do may cost, and hooks need
    none of its .pth processing."""
    lines = [
        "#!/bin/sh",
        f"{MARKER}: installed by `torchlane hooks install`; `torchlane hooks uninstall` restores",
        f"# the hook that was here before (kept as {hook}{CHAINED_SUFFIX} and run first).",
        f"python={shlex.quote(python)}",
        'if [ ! -x "$python" ]; then',
        f'    echo "torchlane {hook} hook: the Python it was installed with is gone: $python" >&2',
        '    echo "hint: run \\`torchlane hooks install\\` again from the environment that has '
        "torchlane, or \\`torchlane hooks uninstall\\` (\\`git commit/push --no-verify\\` skips "
        'hooks once)." >&2',
        "    exit 1",
        "fi",
    ]
    search = os.pathsep.join(lean_paths) if lean_paths else import_root
    if search:
        lines.append(f'PYTHONPATH={shlex.quote(search)}"${{PYTHONPATH:+:$PYTHONPATH}}"')
        lines.append("export PYTHONPATH")
    # `-c` rather than `-m`: runpy and importlib.util would add ~20% to the hook's start-up.
    entry = f"import sys; from {HOOK_MODULES[hook]} import main; sys.exit(main())"
    flags = "-S -c" if lean_paths else "-c"
    lines.append(f'exec "$python" {flags} {shlex.quote(entry)} --hook "$0" "$@"')
    return "\n".join(lines) + "\n"


def is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return MARKER.encode() in handle.read(512)
    except OSError:
        return False


def _write_executable(path: Path, text: str) -> None:
    write_atomic(path, text, mode=0o755)


def install_hooks(git: Git, python: str | None = None) -> HooksResult:
    directory = hooks_dir(git)
    python = python or sys.executable
    # Check every hook before changing any, so a refusal leaves everything as it was.
    for hook in HOOK_MODULES:
        path, chained = directory / hook, directory / (hook + CHAINED_SUFFIX)
        if os.path.lexists(path) and not is_ours(path) and os.path.lexists(chained):
            raise TorchlaneError(
                f"Both {path} and {chained.name} exist, so there is no room to chain the hook.",
                "Merge or remove one of them, then run `torchlane hooks install` again.",
            )
    directory.mkdir(parents=True, exist_ok=True)
    root = _import_root()
    lean_paths = _paths_without_site(python)
    changes: list[HookChange] = []
    for hook in HOOK_MODULES:
        path, chained = directory / hook, directory / (hook + CHAINED_SUFFIX)
        action: HookAction
        if is_ours(path):
            action = "updated"
        elif os.path.lexists(path):
            os.rename(path, chained)
            action = "chained"
        else:
            action = "installed"
        _write_executable(path, script(hook, python, root, lean_paths))
        changes.append(
            HookChange(hook, path, action, chained if os.path.lexists(chained) else None)
        )
    from torchlane.notebooks.install import upgrade_filter_commands

    return HooksResult(directory, python, changes, upgrade_filter_commands(git))


def uninstall_hooks(git: Git) -> HooksResult:
    directory = hooks_dir(git)
    changes: list[HookChange] = []
    for hook in HOOK_MODULES:
        path, chained = directory / hook, directory / (hook + CHAINED_SUFFIX)
        if os.path.lexists(path) and not is_ours(path):
            changes.append(HookChange(hook, path, "untouched"))
            continue
        ours = os.path.lexists(path)
        if ours:
            path.unlink()
        if os.path.lexists(chained):
            os.rename(chained, path)
            changes.append(HookChange(hook, path, "restored", chained))
        else:
            changes.append(HookChange(hook, path, "removed" if ours else "not installed"))
    return HooksResult(directory, sys.executable, changes)
