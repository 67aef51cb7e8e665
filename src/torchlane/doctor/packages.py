"""Installed packages against the lock's `name==version` lines: the ModuleNotFoundError of tomorrow.

Lock lines are pip requirement lines (pip-compile output included: `\\` continuations, `--hash`
options, `# via` comments, environment markers). packaging parses each requirement; the lines
around them (options, comments, continuations) are handled here, as pip itself does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from torchlane.doctor.findings import Finding, Status, ok


@dataclass(frozen=True)
class Pin:
    name: str  # PEP 503 normalised
    version: str | None  # None: the line names the package without an exact version
    line: int


@dataclass(frozen=True)
class ParsedLock:
    pins: list[Pin]
    problems: list[str]  # lines that are not requirements, each with its number


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        stripped = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append((start, (pending + stripped).strip()))
        pending = ""
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def parse_lock(text: str) -> ParsedLock:
    pins: list[Pin] = []
    problems: list[str] = []
    for number, line in _logical_lines(text):
        # pip-compile puts `--hash=...` options after the requirement on continuation lines.
        requirement_text = line.split(" --", 1)[0].strip()
        if not requirement_text or requirement_text.startswith("-"):
            continue
        try:
            requirement = Requirement(requirement_text)
        except InvalidRequirement as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # pinned for another platform or Python
        exact = [spec.version for spec in requirement.specifier if spec.operator in ("==", "===")]
        version = exact[0] if len(exact) == 1 and "*" not in exact[0] else None
        pins.append(Pin(canonicalize_name(requirement.name), version, number))
    return ParsedLock(pins, problems)


def matches(installed: str, pinned: str) -> bool:
    """PEP 440 equality: `==2.13.0` accepts `2.13.0+cpu`; the torch build check judges the local part."""
    try:
        Version(installed)
        return SpecifierSet(f"=={pinned}").contains(installed, prereleases=True)
    except (InvalidVersion, ValueError):
        return installed == pinned


def compare_packages(
    lock: ParsedLock, installed: Mapping[str, str], lock_name: str
) -> list[Finding]:
    sync = f"pip install -r {lock_name} (or pip-sync {lock_name})"
    findings: list[Finding] = [
        Finding(
            check="lock",
            status=Status.WARNING,
            found=problem,
            expected="name==version",
            fix=f"fix or regenerate {lock_name}",
        )
        for problem in lock.problems
    ]
    checked = 0
    for pin in lock.pins:
        have = installed.get(pin.name)
        wanted = f"=={pin.version}" if pin.version else "installed"
        if have is None:
            findings.append(
                Finding(
                    check=f"package {pin.name}",
                    status=Status.ERROR,
                    found="not installed",
                    expected=wanted,
                    fix=sync,
                )
            )
        elif pin.version is not None and not matches(have, pin.version):
            findings.append(
                Finding(
                    check=f"package {pin.name}",
                    status=Status.ERROR,
                    found=have,
                    expected=wanted,
                    fix=sync,
                )
            )
        else:
            checked += 1
    if checked and checked == len(lock.pins):
        findings.append(ok("packages", f"{checked} locked package(s) installed", lock_name))
    return findings
