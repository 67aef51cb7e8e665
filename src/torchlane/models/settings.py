"""`[tool.torchlane.models]`: where released checkpoints are stored, and where bindings live."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from torchlane.config.section import Section
from torchlane.config.values import NotesRef


class ModelsConfig(Section):
    # A directory (relative to the repository root, or absolute: a team's NFS path) or an fsspec
    # URL (s3://bucket/models, gs://..., az://...). None: `model push/pull` ask for one.
    store: str | None = None
    # Keyword arguments for the fsspec filesystem of a URL store (e.g. an S3 endpoint_url).
    store_options: dict[str, Any] = Field(default_factory=dict)
    # Notes ref holding one binding per release tag's commit; short names mean refs/notes/<name>.
    notes_ref: NotesRef = "refs/notes/torchlane-models"
    # Deployment formats a release must export to, matching the eager model (checked by finish).
    exports: tuple[Literal["torchscript", "export", "onnx"], ...] = ()

    @field_validator("store")
    @classmethod
    def _store(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the store is empty; remove the key or give a directory or URL")
        return value
