"""What an evaluation receives and returns. A project's own `entry` function uses these types."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torchlane.errors import TorchlaneError
from torchlane.fingerprint import sha256_text
from torchlane.metrics.record import PerExample, Replicates

Progress = Callable[[int, "int | None"], None]  # (batches done, total batches or None)


Autocast = Literal["off", "bfloat16", "float16"]


def no_progress(done: int, total: int | None) -> None:
    """The default progress callback: report nothing."""


@dataclass(frozen=True)
class EvalContext:
    """Given to the evaluation: which weights, where to run, and the knobs that must be honoured."""

    checkpoint: Path
    device: str  # a torch device string: "cpu", "cuda", "cuda:1", "mps"
    batch_size: int
    seed: int
    root: Path  # the project (or temporary worktree) being evaluated
    autocast: Autocast = "off"
    progress: Progress = field(default=no_progress, compare=False, repr=False)


@dataclass(frozen=True)
class ExampleResults:
    """Per-example outcomes, in a fixed order, so that the gate can pair two evaluations.

    kind "correct": 1.0/0.0 per example (classification). kind "score": a per-example score or
    loss (set higher_is_better=False for a loss). `ids` name the examples; two evaluations are
    paired only when their ids are equal. Without ids, positions 0..n-1 are the ids.
    """

    kind: Literal["correct", "score"]
    values: Sequence[float]
    ids: Sequence[str | int] | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("correct", "score"):
            raise ValueError(f"per-example kind must be 'correct' or 'score', not {self.kind!r}")
        if self.ids is not None and len(self.ids) != len(self.values):
            raise ValueError(f"{len(self.ids)} example ids for {len(self.values)} results")
        if self.kind == "correct" and not set(self.values) <= {0.0, 1.0}:
            raise ValueError("'correct' results must be 0 or 1 per example")

    def ids_fingerprint(self) -> str:
        ids = self.ids if self.ids is not None else range(len(self.values))
        return sha256_text("\n".join(map(str, ids)))

    def to_per_example(self) -> PerExample:
        return PerExample(
            self.kind,
            tuple(map(float, self.values)),
            self.ids_fingerprint(),
            self.higher_is_better,
        )


@dataclass(frozen=True)
class EvalResult:
    """Named metrics (plain floats; NaN stays NaN) and, optionally, per-example results."""

    metrics: Mapping[str, float]
    examples: ExampleResults | None = None
    # Each metric on shared bootstrap resamples (evaluate/resample.py), for the gate's pairing.
    replicates: Replicates | None = None


_RETURN_HINT = "Return torchlane.evaluate.types.EvalResult, or a dict of metric names to numbers."


def normalise_result(value: object, where: str) -> EvalResult:
    """Accept an EvalResult or a plain {name: number} mapping from a project's function."""
    if isinstance(value, EvalResult):
        result = value
    elif isinstance(value, Mapping):
        result = EvalResult(dict(value))
    else:
        raise TorchlaneError(f"{where} returned {type(value).__name__}, not metrics.", _RETURN_HINT)
    metrics: dict[str, float] = {}
    for name, number in result.metrics.items():
        try:
            metrics[str(name)] = float(number)
        except (TypeError, ValueError):
            raise TorchlaneError(
                f"{where}: metric {name!r} is {number!r}, not a number.", _RETURN_HINT
            ) from None
    if not metrics:
        raise TorchlaneError(f"{where} returned no metrics.", _RETURN_HINT)
    return EvalResult(metrics, result.examples, result.replicates)
