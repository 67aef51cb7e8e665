"""What `env check` reports: findings with a severity, a place, a message and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, kw_only=True)
class Finding:
    severity: Severity
    rule: str  # a stable short id, e.g. "image-tag-impossible"
    file: str  # repository-relative path, posix
    line: int  # 1-based; 0 when the finding is about the whole file
    message: str
    fix: str


@dataclass
class CheckReport:
    root: str
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # Every path the check read or looked for (missing declared files too): the cache watches them.
    watched: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0
