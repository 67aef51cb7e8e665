"""Which heavy modules a fast path imports, asked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("click", "pydantic", "rich", "torchlane.config.load")


def heavy_modules_after(argv: list[str], cwd: Path) -> tuple[list[str], str]:
    """(the HEAVY modules loaded after `torchlane *argv` ran in a new interpreter, its output)."""
    probe = (
        f"import json, sys, runpy; sys.argv = {['torchlane', *argv]!r}\n"
        "try:\n    runpy.run_module('torchlane', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    return (json.loads(lines[-1]) if lines else ["<no output>"]), output
