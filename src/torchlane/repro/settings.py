"""`[tool.torchlane.repro]`: what a run manifest records and where."""

from __future__ import annotations

from pydantic import Field

from torchlane.config.section import Section
from torchlane.config.values import NotesRef

DEFAULT_CONFIG_FILES = (
    "pyproject.toml",
    "configs/**/*.yaml",
    "configs/**/*.yml",
    "configs/**/*.toml",
)


class ReproConfig(Section):
    config_files: tuple[str, ...] = Field(
        default=DEFAULT_CONFIG_FILES, description="globs, relative to the repository root"
    )
    data: tuple[str, ...] = Field(
        default=(), description="data files or directories whose content a run depends on"
    )
    notes_ref: NotesRef = "refs/notes/torchlane-runs"  # under refs/notes/ only (notes_ref_problem)
    output_dir: str = Field(default="outputs", description="used when `run` gets no --output")
    deterministic: bool = Field(
        default=True, description="runs want deterministic algorithms (CUBLAS_WORKSPACE_CONFIG)"
    )
