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


@dataclass(frozen=True, kw_only=True)
class Skipped:
    """A file the scan did not read, and why: "binary", "too large", "excluded", "unreadable"."""

    path: str
    reason: str
    commit: str | None = None


# Byte order marks, longest first (UTF-32-LE's starts with UTF-16-LE's).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# Bytes that occur in text: printable ASCII, the whitespace controls, escape, and every byte of
# a UTF-8 multi-byte sequence. Random or packed data has about 10% of the others.
_TEXT_BYTES = bytes([7, 8, 9, 10, 11, 12, 13, 27, *range(0x20, 0x7F), *range(0x80, 0x100)])
_SAMPLE = 8192


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 without a byte order mark, told by its pattern of NULs: ASCII text in UTF-16-LE has
    a NUL in every odd byte and none in the even ones (BE the other way round)."""
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 2:
        return None
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> str | None:
    """The text in `data`, or None when it is binary. UTF-8 (with or without a BOM), UTF-16 and
    UTF-32 told by their BOM, BOM-less UTF-16 of mostly ASCII text, and text that contains NUL
    bytes (each NUL becomes a space, so lines and columns stay where they were)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    if b"\0" not in data:
        return data.decode("utf-8", errors="replace")
    guessed = _utf16_without_bom(data[:_SAMPLE])
    if guessed is not None:
        try:
            return data.decode(guessed)
        except UnicodeDecodeError:
            pass
    rest = data.replace(b"\0", b"")
    if not rest or len(rest.translate(None, _TEXT_BYTES)) > 0.01 * len(rest):
        return None
    return data.replace(b"\0", b" ").decode("utf-8", errors="replace")


def skip_reason(path: str, size: int, settings: ScanSettings) -> str | None:
    """Why a file of `size` bytes is not read at all (before its content is)."""
    if settings.excludes(path):
        return "excluded"
    if size > settings.max_file_bytes:
        return "too large"
    return None


def scan_content(
    path: str, data: bytes, settings: ScanSettings, commit: str | None = None
) -> list[Finding] | Skipped:
    """Findings in one file's bytes, or why it is skipped (binary, too large, excluded)."""
    reason = skip_reason(path, len(data), settings)
    text = decode_text(data) if reason is None else None
    if text is None:
        return Skipped(path=path, reason=reason or "binary", commit=commit)
    if path.endswith(".ipynb"):
        return scan_notebook(text, path, settings, commit)
    return scan_text(text, path, settings, commit=commit)
