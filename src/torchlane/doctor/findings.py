"""What the doctor reports: one finding per check, each saying what was found and what to do.

(`env check` reports findings about files and lines instead: torchlane.env.check.findings.)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class Status(str, enum.Enum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


NOTHING_TO_DO = "nothing to do"


@dataclass(frozen=True, kw_only=True)
class Finding:
    check: str  # short name of what was checked: python, torch build, driver, package numpy...
    status: Status
    found: str
    expected: str
    fix: str  # what to do about it; NOTHING_TO_DO when it is fine


def ok(check: str, found: str, expected: str = "") -> Finding:
    return Finding(check=check, status=Status.OK, found=found, expected=expected, fix=NOTHING_TO_DO)


@dataclass(frozen=True)
class DoctorReport:
    findings: list[Finding]
    config: str | None  # the file the declaration came from; None: defaults
    lock: str | None  # the lock file compared against; None: there is none
    machine: dict[str, Any] = field(default_factory=dict)  # the probed facts, packages left out

    @property
    def errors(self) -> int:
        return count(self.findings, Status.ERROR)

    @property
    def warnings(self) -> int:
        return count(self.findings, Status.WARNING)

    @property
    def ok(self) -> bool:
        return self.errors == 0


def count(findings: Sequence[Finding], status: Status) -> int:
    return sum(1 for finding in findings if finding.status is status)
