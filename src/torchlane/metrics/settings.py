"""`[tool.torchlane.metrics]`: where evaluation records live and which remote shares them."""

from __future__ import annotations

from torchlane.config.section import Section


class MetricsConfig(Section):
    # Notes ref holding the records; short names mean refs/notes/<name>.
    notes_ref: str = "refs/notes/torchlane"
    remote: str = "origin"
