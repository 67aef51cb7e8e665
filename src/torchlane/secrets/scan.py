"""Find secrets in text, files and notebooks. Findings carry a redacted preview and a hash, never
the secret itself, so that reports, JSON output and baselines are safe to share."""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from torchlane.secrets.assignments import assignments, secret_name
from torchlane.secrets.rules import (
    ALLOW_PRAGMA,
    GENERIC_RULE,
    RULES,
    WANDB_RULE,
    WANDB_VALUE,
    Rule,
    generic_value_is_secret,
    is_placeholder,
    wandb_name,
)


@dataclass(frozen=True)
class ScanSettings:
    entropy_threshold: float = 3.5
    min_secret_length: int = 12
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = 2_000_000
    baseline: str = ".torchlane-secrets.json"

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> ScanSettings:
        return cls(
            entropy_threshold=float(data["entropy_threshold"]),
            min_secret_length=int(data["min_secret_length"]),
            exclude=tuple(data["exclude"]),
            max_file_bytes=int(data["max_file_bytes"]),
            baseline=str(data["baseline"]),
        )

    def excludes(self, path: str) -> bool:
        return path == self.baseline or any(fnmatch.fnmatch(path, p) for p in self.exclude)


@dataclass(frozen=True, kw_only=True)
class Finding:
    rule: str
    description: str
    path: str
    line: int  # of the secret itself; for notebooks, in the cell's source or output text
    column: int  # of the secret's first character, counting from 1
    preview: str  # the first characters of the secret and an ellipsis
    sha256: str  # of the secret: what a baseline stores
    cell: int | None = None  # notebooks: the cell's number, counting from 1
    part: str | None = None  # notebooks: "source" or "output N"
    commit: str | None = None  # history and pushes: the commit that added the line

    @property
    def location(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        if self.cell is not None:
            where = f"{self.path}: cell {self.cell} {self.part}, line {self.line}:{self.column}"
        return f"{self.commit[:12]} {where}" if self.commit else where


def redact(secret: str) -> str:
    if not secret:
        return "(empty: authentication disabled)"
    return secret[:4] + "…"


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Hit:
    rule: Rule
    secret: str
    start: int  # the secret's offset in the text

    @property
    def end(self) -> int:
        return self.start + max(len(self.secret), 1)


def _assignment_hits(text: str, settings: ScanSettings) -> Iterable[_Hit]:
    """Values assigned to secret-looking names (the generic rule) or to W&B names."""
    for found in assignments(text):
        if wandb_name(found.name) and WANDB_VALUE.fullmatch(found.value):
            yield _Hit(WANDB_RULE, found.value, found.start)
        elif secret_name(found.name) and generic_value_is_secret(
            found.value,
            bare=not found.quoted,
            entropy_threshold=settings.entropy_threshold,
            min_length=settings.min_secret_length,
        ):
            yield _Hit(GENERIC_RULE, found.value, found.start)


def _hits(text: str, settings: ScanSettings) -> list[_Hit]:
    lowered = text.lower()
    hits: list[_Hit] = []
    for rule in RULES:
        if not any(keyword in lowered for keyword in rule.keywords):
            continue
        for match in rule.pattern.finditer(text):
            secret, start = rule.value(match)
            if not secret and not rule.empty_is_finding:
                continue
            if secret and is_placeholder(secret):
                continue
            if rule.generic and not generic_value_is_secret(
                secret,
                bare=False,
                entropy_threshold=settings.entropy_threshold,
                min_length=settings.min_secret_length,
            ):
                continue
            hits.append(_Hit(rule, secret, start))
    if any(keyword in lowered for keyword in GENERIC_RULE.keywords):
        hits += _assignment_hits(text, settings)
    # A specific rule explains a secret better than a generic one; the same secret found twice
    # (the call and the assignment forms of W&B) is one finding.
    specific: dict[int, _Hit] = {}
    for hit in hits:
        if not hit.rule.generic:
            specific.setdefault(hit.start, hit)
    return list(specific.values()) + [
        h
        for h in hits
        if h.rule.generic
        and not any(h.start < s.end and s.start < h.end for s in specific.values())
    ]


def scan_text(
    text: str,
    path: str,
    settings: ScanSettings,
    *,
    line_numbers: Sequence[int] | None = None,
    cell: int | None = None,
    part: str | None = None,
    commit: str | None = None,
) -> list[Finding]:
    """Findings in `text`, each on the line and column of the secret itself;
    `line_numbers[i]` is the real number of the text's line i+1."""
    hits = _hits(text, settings)
    if not hits:
        return []
    starts = [0]
    position = text.find("\n")
    while position >= 0:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    findings: list[Finding] = []
    for hit in sorted(hits, key=lambda h: h.start):
        index = bisect.bisect_right(starts, hit.start) - 1
        line_end = starts[index + 1] - 1 if index + 1 < len(starts) else len(text)
        if ALLOW_PRAGMA in text[starts[index] : line_end]:
            continue
        number = line_numbers[index] if line_numbers is not None else index + 1
        findings.append(
            Finding(
                rule=hit.rule.id,
                description=hit.rule.description,
                path=path,
                line=number,
                column=hit.start - starts[index] + 1,
                preview=redact(hit.secret),
                sha256=fingerprint(hit.secret),
                cell=cell,
                part=part,
                commit=commit,
            )
        )
    return findings


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def _output_texts(output: dict[str, Any]) -> Iterable[str]:
    if "text" in output:
        yield _joined(output["text"])
    for mime, value in (output.get("data") or {}).items():
        if mime.startswith("text/") or mime.endswith("json") or mime == "application/javascript":
            yield _joined(value)
    if output.get("output_type") == "error":
        yield str(output.get("evalue", ""))
        yield "\n".join(str(line) for line in output.get("traceback", []))


def scan_notebook(
    text: str, path: str, settings: ScanSettings, commit: str | None = None
) -> list[Finding]:
    """Scan the parsed cells (sources and outputs). Raw notebook JSON escapes quotes, which hides
    `token = "..."` from line scanners (detect-secrets#781, gitleaks#914)."""
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except (ValueError, KeyError, TypeError):
        return scan_text(text, path, settings, commit=commit)
    findings: list[Finding] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        source = _joined(cell.get("source", ""))
        findings += scan_text(source, path, settings, cell=number, part="source", commit=commit)
        for index, output in enumerate(cell.get("outputs") or [], start=1):
            if not isinstance(output, dict):
                continue
            for chunk in _output_texts(output):
                findings += scan_text(
                    chunk, path, settings, cell=number, part=f"output {index}", commit=commit
                )
    return findings


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


def scan_content(
    path: str, data: bytes, settings: ScanSettings, commit: str | None = None
) -> list[Finding] | None:
    """Findings in one file's bytes, or None when it is skipped (binary, too large, excluded)."""
    if settings.excludes(path) or len(data) > settings.max_file_bytes or is_binary(data):
        return None
    text = data.decode("utf-8", errors="replace")
    if path.endswith(".ipynb"):
        return scan_notebook(text, path, settings, commit)
    return scan_text(text, path, settings, commit=commit)
