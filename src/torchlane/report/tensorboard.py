"""TensorBoard scalars for every recorded evaluation: one run per branch, step = history position.

Written with tensorboard's own event writer, so that exporting does not import torch.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path

from torchlane.git import Git
from torchlane.metrics.history import first_parent_line
from torchlane.metrics.store import read_many


def run_name(branch: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", branch)


def _walltime(created_at: str) -> float | None:
    try:
        return datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def export_scalars(git: Git, branches: list[str], notes_ref: str, out: Path) -> dict[str, int]:
    """Scalars per branch (oldest commit = step 0); returns how many evaluations each run got."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    counts: dict[str, int] = {}
    for branch in branches:
        line = list(reversed(first_parent_line(git, branch)))
        found = read_many(git, (c.commit for c in line), notes_ref, per_example=False)
        # Created at the first evaluation: a branch without any (main, until CI evaluates a
        # release there) gets no run, rather than an empty one TensorBoard lists all the same.
        writer: EventFileWriter | None = None
        written = 0
        for step, item in enumerate(line):
            read = found.get(item.commit)
            for record in read.records if read else []:
                values = [
                    Summary.Value(tag=name, simple_value=value)
                    for name, value in sorted(record.metrics.items())
                    if math.isfinite(value)
                ]
                wall = _walltime(record.created_at) or datetime.now().timestamp()
                if writer is None:
                    writer = EventFileWriter(str(out / run_name(branch)))
                writer.add_event(Event(wall_time=wall, step=step, summary=Summary(value=values)))
                written += 1
        if writer is not None:
            writer.close()
        counts[branch] = written
    return counts
