"""The lock header that `env lock` writes and `env check` reads to tell a stale lock."""

from __future__ import annotations

import re
from pathlib import Path

from torchlane.fingerprint import sha256_file, sha256_text

HEADER = "# torchlane-lock: inputs={inputs} sha256={digest}"
_HEADER = re.compile(r"#\s*torchlane-lock:\s*inputs=(\S*)\s+sha256=([0-9a-f]{64})")
_PIP_COMPILE = re.compile(r"#\s+pip-compile\s+(.*)$")


def inputs_digest(root: Path, inputs: tuple[str, ...]) -> str:
    """One hash over the inputs' names and contents; a missing input hashes as 'missing'."""
    parts = []
    for name in sorted(inputs):
        path = root / name
        parts.append(f"{name}\0{sha256_file(path) if path.is_file() else 'missing'}")
    return sha256_text("\n".join(parts))


def header_line(root: Path, inputs: tuple[str, ...]) -> str:
    return HEADER.format(inputs=",".join(sorted(inputs)), digest=inputs_digest(root, inputs))


def recorded(lock_text: str) -> tuple[tuple[str, ...], str] | None:
    """(inputs, digest) from a torchlane lock header, or None."""
    for line in lock_text.splitlines()[:30]:
        match = _HEADER.match(line.strip())
        if match:
            return tuple(p for p in match.group(1).split(",") if p), match.group(2)
    return None


def pip_compile_inputs(lock_text: str) -> tuple[str, ...]:
    """The input files named in pip-compile's `#    pip-compile ... in.txt` header line."""
    for line in lock_text.splitlines()[:30]:
        match = _PIP_COMPILE.match(line.strip())
        if match:
            words = match.group(1).split()
            return tuple(w for w in words if not w.startswith("-") and "=" not in w)
    return ()
