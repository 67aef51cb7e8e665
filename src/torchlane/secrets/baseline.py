"""Accepted findings: `.torchlane-secrets.json` stores, per finding, the file, the rule and the
SHA-256 of the secret, never the secret, so the file can be committed and reviewed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from torchlane.errors import TorchlaneError
from torchlane.leanfs import write_atomic
from torchlane.secrets.scan import Finding

BASELINE_VERSION = 1
Key = tuple[str, str, str]  # (file, rule, sha256)


def _key(finding: Finding) -> Key:
    return finding.path, finding.rule, finding.sha256


def load_baseline(path: Path) -> set[Key]:
    if not path.is_file():
        return set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["accepted"]
        return {(str(e["file"]), str(e["rule"]), str(e["sha256"])) for e in entries}
    except (ValueError, KeyError, TypeError) as exc:
        raise TorchlaneError(
            f"The secrets baseline {path.name} is not valid ({type(exc).__name__}: {exc}).",
            "Fix it, or delete it and run `torchlane secrets scan --update-baseline`.",
        ) from exc


def split_accepted(findings: list[Finding], accepted: set[Key]) -> tuple[list[Finding], int]:
    """The findings not in the baseline, and how many were."""
    kept = [f for f in findings if _key(f) not in accepted]
    return kept, sum(1 for f in findings if _key(f) in accepted)


def update_baseline(
    path: Path, findings: Iterable[Finding], scanned_files: set[str] | None
) -> tuple[int, int]:
    """Accept the current findings. Entries for files that were scanned are replaced (an entry
    whose secret is gone is dropped); entries for other files are kept. Returns (added, removed)."""
    old = load_baseline(path)
    current = {_key(f) for f in findings}
    kept = {k for k in old if scanned_files is not None and k[0] not in scanned_files}
    new = kept | current
    entries = [{"file": f, "rule": r, "sha256": h} for f, r, h in sorted(new)]
    text = json.dumps({"version": BASELINE_VERSION, "accepted": entries}, indent=2) + "\n"
    write_atomic(path, text)  # never a half-written baseline
    return len(new - old), len(old - new)
