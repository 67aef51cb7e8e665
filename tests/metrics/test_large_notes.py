"""A large or lying note costs what it says, not a thousand times more.

The 207 KB note of issue 14 held one record whose float32 per-example scores were all zeros:
zlib packs 160 MB of zeros into 155 KB, and decoding them made 40 million Python floats (1.76 GB)
for `metrics show`, which prints no per-example value at all.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import torchlane
from tests.conftest import commit_file
from torchlane.metrics.record import MAX_PER_EXAMPLE, EvaluationRecord, PerExample
from torchlane.metrics.store import parse_note

COMMIT = "c" * 40


def _zeros_line(commit: str, count: int, claimed: int | None = None) -> str:
    packed = zlib.compress(bytes(4 * count), 9)
    per_example = {
        "kind": "score",
        "count": count if claimed is None else claimed,
        "encoding": "f32-zlib-b64",
        "data": base64.b64encode(packed).decode("ascii"),
        "ids_fingerprint": "f" * 64,
        "higher_is_better": False,
    }
    record = {"commit": commit, "metrics": {"loss": 0.0}, "per_example": per_example}
    return json.dumps(record)


def test_a_count_that_does_not_match_the_data_is_a_named_problem() -> None:
    lying = parse_note(COMMIT, _zeros_line(COMMIT, 1_000_000, claimed=10))
    assert lying.records == []
    assert "does not hold exactly 10 values" in lying.problems[0].reason
    huge = parse_note(COMMIT, _zeros_line(COMMIT, 10, claimed=MAX_PER_EXAMPLE + 1))
    assert "torchlane reads 0 to" in huge.problems[0].reason


def test_views_without_per_example_values_keep_them_packed_and_write_them_back() -> None:
    line = _zeros_line(COMMIT, 1000)
    [record] = parse_note(COMMIT, line, per_example=False).records
    assert record.per_example is None
    assert record.to_json()["per_example"] == json.loads(line)["per_example"]
    [decoded] = parse_note(COMMIT, line).records
    assert decoded.per_example is not None
    assert decoded.per_example.values == (0.0,) * 1000


@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=200))
def test_score_values_round_trip_exactly(values: list[float]) -> None:
    record = EvaluationRecord(
        COMMIT, {"loss": 0.5}, per_example=PerExample("score", tuple(values), "f" * 64, False)
    )
    [back] = parse_note(COMMIT, record.to_line()).records
    assert back.per_example == record.per_example


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_metrics_show_of_a_207_kb_note_stays_small(project, tmp_path: Path) -> None:
    git = project.git
    commit = commit_file(git, "model.py", "x = 1\n")
    note = tmp_path / "note.json"
    note.write_text(_zeros_line(commit, 40_000_000), encoding="utf-8")
    assert 200_000 < note.stat().st_size < 215_000
    git.run("notes", "--ref", "refs/notes/torchlane", "add", "-F", str(note), commit)
    source = str(Path(torchlane.__file__).resolve().parent.parent)
    # VmHWM, not ru_maxrss: Linux carries the forking parent's (pytest's) peak across exec.
    script = (
        "import re, sys\n"
        "from torchlane.cli import run\n"
        "code = run(['metrics', 'show'])\n"
        "status = open('/proc/self/status').read()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project.root,
        env={**os.environ, "PYTHONPATH": source},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "loss: 0" in proc.stdout
    peak_mib = int(proc.stderr.strip().splitlines()[-1]) / 1024
    assert peak_mib < 250, f"metrics show peaked at {peak_mib:.0f} MiB (was 1.76 GB)"
