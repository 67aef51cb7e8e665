"""`[tool.torchlane.metrics]`: where evaluation records live and which remote shares them."""

from __future__ import annotations

from torchlane.config.section import Section
from torchlane.config.values import NotesRef, RemoteName


class MetricsConfig(Section):
    # Notes ref holding the records; short names mean refs/notes/<name>. Only refs/notes/ is
    # accepted: anything else would get notes commits written onto it (a branch, a tag).
    notes_ref: NotesRef = "refs/notes/torchlane"
    remote: RemoteName = "origin"
