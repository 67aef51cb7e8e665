"""`[tool.torchlane.metrics]`: where evaluation records live and which remote shares them."""

from __future__ import annotations

from pydantic import field_validator

from torchlane.config.section import Section
from torchlane.config.values import NotesRef, RemoteName
from torchlane.notes import notes_ref_problem


class MetricsConfig(Section):
    # Notes ref holding the records; short names mean refs/notes/<name>. Only refs/notes/ is
    # accepted: anything else would get notes commits written onto it (a branch, a tag).
    notes_ref: NotesRef = "refs/notes/torchlane"
    remote: RemoteName = "origin"

    @field_validator("notes_ref")
    @classmethod
    def _notes_ref(cls, value: str) -> str:
        problem = notes_ref_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value
