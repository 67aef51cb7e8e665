"""`[tool.torchlane.eval]`: how a project evaluates its model. Every key has a default."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from torchlane.config.section import Section
from torchlane.evaluate.types import Autocast

_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_entry_point(value: str) -> str:
    if not _ENTRY_POINT.match(value):
        raise ValueError("an entry point is written 'module:function', e.g. 'model:build_model'")
    return value


def check_device(value: str) -> str:
    if not _DEVICE.match(value):
        raise ValueError("a device is 'auto', 'cpu', 'mps', 'cuda' or 'cuda:N'")
    return value


class EvalConfig(Section):
    # Either a project's own evaluation function ...
    entry: str | None = None  # "module:function", called with an EvalContext
    # ... or the ready harness: a model factory, a validation DataLoader factory, metrics.
    model: str | None = None  # "module:build_model", returns an nn.Module
    data: str | None = None  # "module:validation_loader", called with batch_size=...
    metrics: dict[str, str] = Field(default_factory=dict)  # name -> "module:fn(outputs, targets)"
    task: Literal["classification", "regression"] = "classification"
    per_example_loss: str | None = None  # "module:fn(outputs, targets) -> loss per example"
    state_dict_key: str | None = None  # the checkpoint holds {key: state_dict, ...}

    # Where the weights come from: a path or glob (newest by mtime), after an optional command.
    checkpoint: str = "checkpoints/*.pt"
    checkpoint_command: str | list[str] | None = None
    command_timeout_s: float = Field(default=3600.0, gt=0)

    # What the cache key needs beyond the checkpoint: the data and the evaluation code.
    data_paths: tuple[str, ...] = ()
    data_fingerprint: str | None = None  # "module:fn() -> str", instead of hashing data_paths
    code_paths: tuple[str, ...] = ()

    device: str = "auto"
    batch_size: int = Field(default=256, ge=1)
    seed: int = 0
    # Bootstrap replicates kept per metric, so the gate can pair any metric (0: none; only the
    # per-example results then pair, and other metrics are reported as unpaired).
    resamples: int = Field(default=1000, ge=0, le=10_000)
    autocast: Autocast = "off"
    deterministic: bool = True
    cache: bool = True

    @field_validator("entry", "model", "data", "per_example_loss", "data_fingerprint")
    @classmethod
    def _entry_points(cls, value: str | None) -> str | None:
        return None if value is None else check_entry_point(value)

    @field_validator("metrics")
    @classmethod
    def _metric_entry_points(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value.values():
            check_entry_point(target)
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        return check_device(value)

    @field_validator("checkpoint_command")
    @classmethod
    def _command(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None and (not value or (isinstance(value, str) and not value.strip())):
            raise ValueError("the checkpoint command is empty; remove the key to run none")
        return value

    def entry_points(self) -> list[str]:
        """Every 'module:function' the evaluation calls (their modules' files are its code)."""
        named = [self.entry, self.model, self.data, self.per_example_loss, self.data_fingerprint]
        return [p for p in named if p] + list(self.metrics.values())
