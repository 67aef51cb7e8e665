"""The base of every configuration section. Kept apart from config.py so that section models in
feature packages (env, evaluate, metrics, ...) can be imported by config.py without a cycle."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # A misspelt key must be an error, not a setting silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)
