"""`[tool.torchlane.repro]`: what a run manifest records and where."""

from __future__ import annotations

from pydantic import Field, field_validator

from torchlane.config.section import Section
from torchlane.config.values import NotesRef
from torchlane.notes import notes_ref_problem

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

    @field_validator("notes_ref")
    @classmethod
    def _notes_ref(cls, value: str) -> str:
        problem = notes_ref_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value
