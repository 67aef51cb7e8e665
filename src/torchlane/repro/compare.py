"""Outputs of a reproduction against the recorded ones: by hash, and JSON metrics by tolerance.

Tolerance follows numpy.isclose: |new - old| <= atol + rtol * |old|, the recorded value being
the reference. Written by hand because it must walk nested JSON, which no library here does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FileStatus = Literal["identical", "within tolerance", "different", "missing", "new"]
Verdict = Literal["identical", "within tolerance", "different"]


@dataclass(frozen=True)
class FileComparison:
    path: str
    status: FileStatus
    detail: str


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_difference(
    old: Any, new: Any, rtol: float, atol: float, where: str = ""
) -> tuple[str | None, float]:
    """(first place the values differ beyond tolerance or None, largest numeric deviation seen)."""
    if _number(old) and _number(new):
        deviation = abs(float(new) - float(old))
        if math.isnan(float(old)) or math.isnan(float(new)):
            same = math.isnan(float(old)) and math.isnan(float(new))
            return (None if same else where or "value"), 0.0
        close = deviation <= atol + rtol * abs(float(old))
        return (None if close else f"{where or 'value'}: {old} -> {new}"), deviation
    if isinstance(old, dict) and isinstance(new, dict):
        if set(old) != set(new):
            changed = sorted(set(old) ^ set(new))
            return f"{where or 'keys'}: keys differ ({', '.join(map(str, changed[:5]))})", 0.0
        return _walk(
            ((old[k], new[k], f"{where}.{k}" if where else str(k)) for k in old), rtol, atol
        )
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return f"{where or 'list'}: length {len(old)} -> {len(new)}", 0.0
        return _walk(
            ((a, b, f"{where}[{i}]") for i, (a, b) in enumerate(zip(old, new, strict=True))),
            rtol,
            atol,
        )
    return (None if old == new else f"{where or 'value'}: {old!r} -> {new!r}"), 0.0


def _walk(pairs: Any, rtol: float, atol: float) -> tuple[str | None, float]:
    largest = 0.0
    for old, new, where in pairs:
        difference, deviation = json_difference(old, new, rtol, atol, where)
        largest = max(largest, deviation)
        if difference is not None:
            return difference, largest
    return None, largest


def _compare_json(old: Any, new_file: Path, rtol: float, atol: float) -> FileComparison | None:
    try:
        new = json.loads(new_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    difference, largest = json_difference(old, new, rtol, atol)
    if difference is None:
        detail = f"max |Δ| {largest:.3g} (rtol {rtol:g}, atol {atol:g})"
        return FileComparison(new_file.name, "within tolerance", detail)
    return FileComparison(new_file.name, "different", difference)


def compare_outputs(
    recorded: Mapping[str, str],
    reproduced: Mapping[str, str],
    *,
    recorded_metrics: Mapping[str, Any],
    new_root: Path,
    rtol: float,
    atol: float,
) -> list[FileComparison]:
    """Every recorded and every new output file, with its status. A JSON file whose hash differs
    is compared by value with the copy the manifest kept (`metrics`)."""
    results: list[FileComparison] = []
    for path in sorted(set(recorded) | set(reproduced)):
        old, new = recorded.get(path), reproduced.get(path)
        if new is None:
            results.append(FileComparison(path, "missing", "the reproduction did not write it"))
        elif old is None:
            results.append(FileComparison(path, "new", "the recorded run did not write it"))
        elif old == new:
            results.append(FileComparison(path, "identical", f"sha256 {new[:12]}"))
        else:
            detail = f"sha256 {old[:12]} -> {new[:12]}"
            by_value = None
            if path in recorded_metrics:
                by_value = _compare_json(recorded_metrics[path], new_root / path, rtol, atol)
            if by_value is None:
                results.append(FileComparison(path, "different", detail))
            else:
                results.append(
                    FileComparison(path, by_value.status, f"{by_value.detail}; {detail}")
                )
    return results


def verdict_of(files: list[FileComparison], same_exit_code: bool) -> Verdict:
    if not same_exit_code or any(f.status in ("different", "missing", "new") for f in files):
        return "different"
    if any(f.status == "within tolerance" for f in files):
        return "within tolerance"
    return "identical"
