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
    if not push:
        if not binding.no_model:
            notes.append(
                f"Upload the model and share the binding with `torchlane model push {tag}`."
            )
        return describe(binding), notes
    try:
        if project.config.models.store is not None and not binding.no_model:
            from torchlane.models.ops import push_models

            pushed = push_models(project, [tag])  # the checkpoint, the bindings, the runs
            notes.append(
                f"Uploaded the checkpoint to the model store ({pushed.models[0].location}) and "
                "pushed the binding."
            )
        else:
            from torchlane.metrics.sync import push as push_notes

            push_notes(project.git, models_ref(project), project.config.flow.remote)
            if not binding.no_model:
                notes.append(
                    "The binding was pushed; the checkpoint stays in this clone until a store is "
                    'set ([tool.torchlane.models] store = "...") and `torchlane model push` runs.'
                )
    except TorchlaneError as exc:
        notes.append(
            f"The model was not pushed ({exc.message}); retry with `torchlane model push {tag}`."
        )
    return describe(binding), notes
