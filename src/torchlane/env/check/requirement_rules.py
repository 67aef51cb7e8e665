"""Rules for requirement and lock files: exact pins, hashes, stale locks, torch builds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from torchlane.env.check.findings import Finding, Severity
from torchlane.env.check.requirements import Requirement, RequirementsFile, parse_requirements
from torchlane.env.lock.lockfile import inputs_digest, pip_compile_inputs, recorded
from torchlane.env.matrix import BUILD_LABEL, Matrix, cuda_suffix, wheel_index

_TORCH_INDEX = re.compile(r"download\.pytorch\.org/whl/(?:test/|nightly/)?(cu\d+|cpu|rocm[\d.]+)")


@dataclass(frozen=True)
class TorchPin:
    file: str
    line: int
    version: str  # without the local part
    local: str | None  # cu128, cpu, ...


@dataclass(kw_only=True)
class ParsedRequirements:
    path: str
    text: str
    parsed: RequirementsFile
    is_lock: bool
    inputs: tuple[str, ...]  # for a lock: the files it was made from


def read_requirements(root: Path, path: str, lock_names: set[str]) -> ParsedRequirements:
    text = (root / path).read_text(encoding="utf-8", errors="replace")
    parsed = parse_requirements(text)
    header = recorded(text)
    compiled = pip_compile_inputs(text)
    is_lock = (
        path in lock_names
        or path.endswith(".lock")
        or header is not None
        or bool(compiled)
        or parsed.has_hashes
    )
    inputs = header[0] if header else compiled
    return ParsedRequirements(path=path, text=text, parsed=parsed, is_lock=is_lock, inputs=inputs)


def pin_findings(entry: ParsedRequirements, is_input: bool) -> list[Finding]:
    """Loose specifiers are fine in a lock's inputs; anywhere else they are not reproducible."""
    if is_input and not entry.is_lock:
        return []
    findings = []
    severity: Severity = "error" if entry.is_lock else "warning"
    for req in entry.parsed.requirements:
        if req.error:
            findings.append(
                Finding(
                    severity="error",
                    rule="requirement-invalid",
                    file=entry.path,
                    line=req.line,
                    message=f"'{req.text}' is not a valid requirement: {req.error}.",
                    fix="Fix the line (PEP 508: name==version).",
                )
            )
        elif not req.pinned:
            what = "an editable install" if req.editable else f"'{req.text}'"
            findings.append(
                Finding(
                    severity=severity,
                    rule="requirement-unpinned",
                    file=entry.path,
                    line=req.line,
                    message=f"{what} is not pinned exactly (== or a hash).",
                    fix="Pin it (name==version), or lock the file: `torchlane env lock`.",
                )
            )
    if entry.parsed.has_hashes:
        missing = [r for r in entry.parsed.requirements if not r.hashes and not r.error]
        for req in missing[:5]:
            findings.append(
                Finding(
                    severity="error",
                    rule="requirement-hash-missing",
                    file=entry.path,
                    line=req.line,
                    message=f"'{req.text}' has no --hash while others do: pip's hash-checking mode will refuse the file.",
                    fix="Regenerate the lock with `torchlane env lock`.",
                )
            )
    return findings


def stale_findings(
    root: Path, entry: ParsedRequirements, declared_inputs: tuple[str, ...]
) -> list[Finding]:
    if not entry.is_lock:
        return []
    head = recorded(entry.text)
    if head is not None:
        inputs, digest = head
        if inputs_digest(root, inputs) == digest:
            return []
        return [
            Finding(
                severity="error",
                rule="lock-stale",
                file=entry.path,
                line=1,
                message=f"{entry.path} is stale: {', '.join(inputs)} changed since it was locked.",
                fix="Run `torchlane env lock` and commit the new lock.",
            )
        ]
    inputs = entry.inputs or declared_inputs
    inputs = tuple(p for p in inputs if (root / p).is_file())
    if not inputs:
        return []
    from torchlane.git import Git

    commit_time = Git(root).last_change_time
    lock_time = commit_time(entry.path)
    if lock_time is None:
        return []
    newer = [p for p in inputs if (commit_time(p) or 0) > lock_time]
    if not newer:
        return []
    return [
        Finding(
            severity="warning",
            rule="lock-older-than-inputs",
            file=entry.path,
            line=1,
            message=f"{entry.path} was last committed before {', '.join(newer)} (by commit time; it records no input hash).",
            fix="Run `torchlane env lock` (it records a hash of its inputs) and commit the lock.",
        )
    ]


def torch_pins(entry: ParsedRequirements) -> list[TorchPin]:
    from torchlane.env.check.image_rules import torch_of

    pins = []
    for req in entry.parsed.requirements:
        if req.name == "torch" and req.version:
            parsed = torch_of(req.version)
            if parsed:
                pins.append(TorchPin(entry.path, req.line, parsed[0], parsed[1]))
    return pins


def build_findings(
    matrix: Matrix, entry: ParsedRequirements, pins: list[TorchPin]
) -> list[Finding]:
    """A +cuXYZ pin or a download.pytorch.org/whl/cuXYZ index that the release was not built for."""
    findings = []
    suffixes: list[tuple[int, str]] = [(p.line, p.local) for p in pins if p.local]
    for line, _, value in entry.parsed.options:
        match = _TORCH_INDEX.search(value)
        if match:
            suffixes.append((line, match.group(1)))
    for pin in pins:
        release = matrix.release(pin.version)
        if release is None:
            continue
        valid = (
            {cuda_suffix(c) for c in release.cuda_builds}
            | {"cpu"}
            | {f"rocm{r}" for r in release.rocm}
        )
        for line, suffix in suffixes:
            if suffix.startswith(("cu", "rocm")) and suffix != "cpu" and suffix not in valid:
                builds = ", ".join(cuda_suffix(c) for c in release.cuda_builds)
                findings.append(
                    Finding(
                        severity="error",
                        rule="torch-build-missing",
                        file=entry.path,
                        line=line,
                        message=f"torch {pin.version} has no {suffix} build (it was built for {builds}).",
                        fix=f"Use one of {builds} (the PyPI default is CUDA {release.pypi_default_cuda}).",
                    )
                )
    return findings


_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links")


def unserved_local_pins(parsed: RequirementsFile) -> list[tuple[Requirement, str]]:
    """Pins of a local version (torch==2.9.0+cpu) that no index named in the file serves, each
    with its label. PyPI holds no local versions, so pip finds them only on an index the file
    names (pip reads the file's own --index-url/--extra-index-url/--find-links lines): a PyTorch
    label needs its download.pytorch.org/whl/LABEL index (or a mirror not spelt like one)."""
    indexes = [value for _, option, value in parsed.options if option in _INDEX_OPTIONS]
    torch_labels = {m.group(1) for m in map(_TORCH_INDEX.search, indexes) if m}
    other = [v for v in indexes if not _TORCH_INDEX.search(v) and "pypi.org" not in v]
    unserved = []
    for req in parsed.requirements:
        if req.version is None or "+" not in req.version:
            continue
        label = req.version.split("+", 1)[1].lower()
        if label not in torch_labels and not other:
            unserved.append((req, label))
    return unserved


def missing_index_lines(parsed: RequirementsFile) -> list[str]:
    """The --extra-index-url lines a lock needs for its local-version pins to install; raises
    ValueError naming a pin no known index serves."""
    lines: list[str] = []
    for req, label in unserved_local_pins(parsed):
        if not BUILD_LABEL.fullmatch(label):
            raise ValueError(f"{req.text} (no known index serves the local version '+{label}')")
        line = f"--extra-index-url {wheel_index(label)}"
        if line not in lines:
            lines.append(line)
    return lines


def index_findings(entry: ParsedRequirements, is_input: bool) -> list[Finding]:
    """A local-version pin without the index that serves it: `pip install -r` (the generated
    image's step) cannot install the file. A lock's input is left alone: `env lock` records the
    index in the lock, which is what the image installs."""
    if is_input and not entry.is_lock:
        return []
    findings = []
    for req, label in unserved_local_pins(entry.parsed):
        known = BUILD_LABEL.fullmatch(label) is not None
        line = f"--extra-index-url {wheel_index(label)}" if known else "the index that serves it"
        findings.append(
            Finding(
                severity="error" if entry.is_lock else "warning",
                rule="index-missing",
                file=entry.path,
                line=req.line,
                message=f"'{req.text}' is a local version, which PyPI does not serve, and "
                f"{entry.path} names no index that does: `pip install -r {entry.path}` (the "
                "image's install step) cannot install it.",
                fix=(
                    f"Add `{line}` to {entry.path}"
                    + (
                        " (or rerun `torchlane env lock`, which records it)."
                        if entry.is_lock
                        else "."
                    )
                ),
            )
        )
    return findings
