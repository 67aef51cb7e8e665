"""The hook `finish` calls once a release is tagged: write the binding, share it with --push."""

from __future__ import annotations

from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.models.binding import describe, models_ref, record_binding
from torchlane.project import Project


def bind_release(
    project: Project, tag: str, planned: dict[str, Any], *, push: bool
) -> tuple[str, list[str]]:
    """(the summary line, notes for the user). The release itself is done: a push of the
    binding that fails is reported with the command that retries it, never an error."""
    binding = record_binding(project, tag, planned)
    notes: list[str] = []
    remote = project.config.flow.remote
    if push:
        from torchlane.metrics.sync import push as push_notes

        try:
            push_notes(project.git, models_ref(project), remote)
        except TorchlaneError as exc:
            notes.append(
                f"The model binding was not pushed ({exc.message}); retry with "
                f"`torchlane model push {tag}`."
            )
    elif not binding.no_model:
        notes.append(f"Upload the model and share the binding with `torchlane model push {tag}`.")
    return describe(binding), notes
