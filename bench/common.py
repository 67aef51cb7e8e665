"""Timing helpers shared by the benchmarks.

These machines are noisy: absolute times are not comparable between runs, so every benchmark
measures its anchor in the same run and reports a ratio. We take the best of several repeats
for each side (the least-disturbed run is the best estimate of the work itself).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchResult:
    name: str
    measured_s: float
    anchor_s: float
    anchor: str
    target_ratio: float

    @property
    def ratio(self) -> float:
        return self.measured_s / self.anchor_s

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target_ratio

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict}  {self.name}: {self.ratio:.3f}x {self.anchor} "
            f"(target <= {self.target_ratio}x; {self.measured_s * 1000:.1f} ms vs "
            f"{self.anchor_s * 1000:.1f} ms)"
        )


def best_time(func: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def command_time(argv: Sequence[str], repeat: int = 5, **kwargs: object) -> float:
    def once() -> None:
        subprocess.run(list(argv), check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]

    once()  # warm the page cache and bytecode
    return best_time(once, repeat)


def python_pass_time(repeat: int = 15) -> float:
    return command_time([sys.executable, "-c", "pass"], repeat)
