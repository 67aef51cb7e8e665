"""`[tool.torchlane.gate]`: what may not get worse, and how credibly."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from torchlane.config.section import Section
from torchlane.config.values import RepositoryPath

Direction = Literal["higher", "lower"]  # which way is better
# Whether the gate trusts only records CI signed (gate/trust.py): "in-ci" when running in CI and
# develop has an allowed-signers file; "always" also on developers' machines; "never" ignores
# the requirement (signed records still outrank unsigned ones).
RequireSigned = Literal["never", "in-ci", "always"]


class MetricRule(Section):
    """How one metric is judged. A tolerated drop is written as a positive number."""

    # Which way is better; unset: read from the name (gate/rules.py direction_from_name), and a
    # name that says nothing is an explicit "unknown direction" outcome, never a guess.
    direction: Direction | None = None
    max_drop: float | None = Field(default=None, ge=0)  # absolute tolerance, in metric units
    max_relative_drop: float | None = Field(default=None, ge=0, le=1)  # fraction of the baseline
    floor: float | None = None  # the candidate must be >= floor
    ceiling: float | None = None  # the candidate must be <= ceiling
    required: bool = True  # a missing value fails the gate (False: reported, not judged)
    # A metric no paired test covers (no per-example results or replicates on both sides) is
    # reported "unpaired", not judged; true: judge it on the point values anyway.
    gate_unpaired: bool = False

    @model_validator(mode="after")
    def _finite(self) -> MetricRule:
        for name in ("max_drop", "max_relative_drop", "floor", "ceiling"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number")
        return self

    def tolerance(self, baseline: float) -> float:
        """The drop allowed from `baseline`: within both limits when both are set; 0 if none."""
        limits = []
        if self.max_drop is not None:
            limits.append(self.max_drop)
        if self.max_relative_drop is not None:
            limits.append(abs(baseline) * self.max_relative_drop)
        return min(limits) if limits else 0.0


class GateConfig(Section):
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    bootstrap_resamples: int = Field(default=2000, ge=100, le=1_000_000)
    seed: int = 0
    # A first run has nothing to compare with: fail with a hint unless the team opts in.
    allow_missing_baseline: bool = False
    require_signed: RequireSigned = "in-ci"
    # Who may sign records (`principal namespaces="torchlane-metrics" ssh-ed25519 AAAA...`), a
    # path in the repository; the gate reads the file as committed on develop.
    allowed_signers: RepositoryPath = ".torchlane/allowed_signers"
    metrics: dict[str, MetricRule] = Field(default_factory=dict)
