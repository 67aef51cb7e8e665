"""Bootstrap replicates of every metric, on resamples that any two evaluations share.

The resamples are drawn by a counter-based generator (splitmix64 of a key and the position),
seeded only by the ids fingerprint: no numpy or torch random stream whose output may change
between versions, no state. Two evaluations over the same examples therefore draw the very same
resamples, and the gate pairs them resample by resample: the paired bootstrap of any metric,
macro-F1, per-class recall, top-k, a loss or a project's own function, without keeping outputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from torchlane.metrics.record import RESAMPLE_SCHEME, Replicates

_ROWS = 64  # resamples drawn per block (bounded memory: 64 × n indices)
_MASK = (1 << 64) - 1


def _splitmix64(x: Any) -> Any:
    import numpy as np

    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def resample_indices(n: int, ids_fingerprint: str, start: int, stop: int) -> Any:
    """Rows start..stop-1 of the resamples: each row n example positions drawn with replacement."""
    import numpy as np

    key = np.uint64(int(hashlib.sha256(ids_fingerprint.encode()).hexdigest()[:16], 16) & _MASK)
    counters = np.arange(start, stop, dtype=np.uint64)[:, None] * np.uint64(n) + np.arange(
        n, dtype=np.uint64
    )
    with np.errstate(over="ignore"):
        drawn = _splitmix64(counters + key)
    return (drawn % np.uint64(n)).astype(np.int64)


def replicates_of_mean(values: Any, count: int, ids_fingerprint: str) -> tuple[float, ...]:
    """The mean of per-example values on each resample (vectorised)."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    out: list[float] = []
    for start in range(0, count, _ROWS):
        idx = resample_indices(data.size, ids_fingerprint, start, min(count, start + _ROWS))
        out.extend(data[idx].mean(axis=1).tolist())
    return tuple(out)


def replicates_of(
    function: Callable[[Any, Any], float], outputs: Any, targets: Any, count: int, fingerprint: str
) -> tuple[float, ...]:
    """`function(outputs[idx], targets[idx])` on each resample."""
    import torch

    n = len(outputs)
    out: list[float] = []
    for start in range(0, count, _ROWS):
        rows = torch.from_numpy(resample_indices(n, fingerprint, start, min(count, start + _ROWS)))
        out.extend(float(function(outputs[row], targets[row])) for row in rows)
    return tuple(out)


def build_replicates(
    metrics: dict[str, tuple[float, ...]], values: dict[str, float], n: int, fingerprint: str
) -> Replicates:
    count = len(next(iter(metrics.values()))) if metrics else 0
    centres = {k: values[k] for k in metrics if k in values}
    return Replicates(RESAMPLE_SCHEME, count, n, fingerprint, metrics, centres)
