"""`[tool.torchlane.secrets]`: scanner thresholds, exclusions and the baseline file."""

from __future__ import annotations

from pydantic import Field

from torchlane.config.section import Section


class SecretsConfig(Section):
    baseline: str = ".torchlane-secrets.json"
    # Shannon entropy (bits per character) a value assigned to a token/secret/password name
    # must reach to count as a secret; random base64 scores about 4.5-6, English words 2.5-3.5.
    entropy_threshold: float = Field(default=3.5, ge=1.0, le=8.0)
    min_secret_length: int = Field(default=12, ge=4, le=200)
    # fnmatch patterns of repository paths never scanned (e.g. "tests/fixtures/*").
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = Field(default=2_000_000, ge=1_000)
