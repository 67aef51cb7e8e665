"""[tool.torchlane.notebooks]: the team's stripping choices, shared through pyproject.toml.

    [tool.torchlane.notebooks]
    extra_keys = ["metadata.celltoolbar", "cell.metadata.papermill"]
    keep_count = false

Command-line flags add to these (lists) or switch them on (flags). `install-filter` writes them
into the filter's command line, so run it again after changing this section.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from torchlane.config.section import Section
from torchlane.notebooks.options import (
    OptionError,
    StripOptions,
    options_from_settings,
    parse_size,
)


class NotebooksConfig(Section):
    keep_count: bool = False
    keep_output: bool = False
    keep_id: bool = False
    drop_empty_cells: bool = False
    strip_init_cells: bool = False
    extra_keys: tuple[str, ...] = ()
    keep_metadata_keys: tuple[str, ...] = ()
    drop_tagged_cells: tuple[str, ...] = ()
    drop_output_types: tuple[str, ...] = ()
    keep_output_types: tuple[str, ...] = ()
    max_size: str = Field(default="0", description="Keep outputs up to this size: 0, 500, 10K, 2M")

    @field_validator("max_size")
    @classmethod
    def _size(cls, value: str) -> str:
        try:
            parse_size(value)
        except OptionError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("extra_keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            if "." not in key or key.split(".", 1)[0] not in ("cell", "metadata"):
                raise ValueError(f"{key!r} must start with 'metadata.' or 'cell.'")
        return value

    def to_options(self) -> StripOptions:
        return options_from_settings(self.model_dump())


def load_strip_options(start: Path) -> StripOptions:
    """The stripping options configured for the repository containing `start` (a file or a
    directory); defaults outside a repository or without a [tool.torchlane.notebooks] section."""
    from torchlane.config.load import load_config
    from torchlane.git import Git

    folder = start if start.is_dir() else start.parent
    while not folder.is_dir() and folder != folder.parent:  # a path that does not exist yet
        folder = folder.parent
    git = Git(folder)
    root = git.toplevel() if git.is_repository() else git.cwd
    return load_config(root).config.notebooks.to_options()
