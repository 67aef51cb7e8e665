"""Importing a project's evaluation code from its root, and knowing which files that code is.

Project modules are imported fresh for each evaluation and dropped afterwards: two checkouts of
the same project (HEAD and a temporary worktree at another revision) both have a `model.py`, and
Python's module cache would otherwise hand the second evaluation the first one's code.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torchlane.errors import TorchlaneError

_INSTALLED = {"site-packages", "dist-packages"}


def _is_under(path: str | None, prefix: str) -> bool:
    """Whether a module file is project code (a virtual environment inside the root is not).

    A plain string test: it runs over every loaded module, and resolving thousands of paths
    would cost the evaluation a second. Project modules' paths start with the root we put on
    sys.path, which is already resolved.
    """
    if not path or not path.startswith(prefix):
        return False
    return not _INSTALLED.intersection(Path(path[len(prefix) :]).parts)


class ProjectImporter:
    """Resolves 'module:function' names against a project root, within `imported_from()`."""

    def __init__(self, root: Path, config_key: str = "[tool.torchlane.eval]"):
        self.root = root.resolve()
        self.config_key = config_key
        self.loaded_files: set[Path] = set()

    def _project_modules(self, names: Iterable[str]) -> dict[str, Any]:
        prefix = str(self.root) + os.sep
        modules = {name: sys.modules.get(name) for name in names}
        return {
            name: module
            for name, module in modules.items()
            if _is_under(getattr(module, "__file__", None), prefix)
        }

    def _top_level_names(self) -> set[str]:
        names: set[str] = set()
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    names.add(entry.name[:-3])
                elif entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py")):
                    names.add(entry.name)
        return names

    @contextmanager
    def imported_from(self) -> Iterator[ProjectImporter]:
        # Set aside every loaded module that a project module would shadow (a `model` from
        # another checkout, or an installed package named `data`), and put it back afterwards.
        top = self._top_level_names()
        shadowed = {n: sys.modules[n] for n in list(sys.modules) if n.partition(".")[0] in top}
        for name in shadowed:
            del sys.modules[name]
        before = set(sys.modules)
        sys.path.insert(0, str(self.root))
        importlib.invalidate_caches()
        try:
            yield self
        finally:
            for name, module in self._project_modules(set(sys.modules) - before).items():
                self.loaded_files.add(Path(module.__file__).resolve())
                del sys.modules[name]
            if str(self.root) in sys.path:
                sys.path.remove(str(self.root))
            for name, module in shadowed.items():
                sys.modules.setdefault(name, module)

    def resolve(self, target: str, key: str) -> Callable[..., Any]:
        module_name, _, attribute = target.partition(":")
        where = f"{self.config_key} {key} = {target!r}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.split(".")[0] == exc.name.split(".")[0]:
                raise TorchlaneError(
                    f"{where}: no module '{module_name}' in {self.root}.",
                    "Module names are relative to the project root (the directory of "
                    "pyproject.toml), e.g. 'src.model:build_model' or 'model:build_model'.",
                ) from exc
            raise TorchlaneError(
                f"{where}: importing '{module_name}' failed: {exc}.",
                "Install the project's dependencies in this environment.",
            ) from exc
        except SyntaxError as exc:
            raise TorchlaneError(
                f"{where}: {exc.filename}:{exc.lineno}: syntax error: {exc.msg}.",
                "Fix the syntax error.",
            ) from exc
        function: Callable[..., Any] | None = getattr(module, attribute, None)
        if function is None or not callable(function):
            raise TorchlaneError(
                f"{where}: module '{module_name}' has no function '{attribute}'.",
                f"Define `def {attribute}(...)` in {module_name.replace('.', '/')}.py "
                "or correct the name.",
            )
        if module_file := getattr(module, "__file__", None):
            self.loaded_files.add(Path(module_file).resolve())
        return function


def module_files(root: Path, target: str) -> list[Path]:
    """The source files of a 'module:function' target, found without importing it."""
    module_name = target.partition(":")[0]
    base = root.joinpath(*module_name.split("."))
    candidates = [base.with_suffix(".py"), base / "__init__.py"]
    return [path for path in candidates if path.is_file()]
