"""Metrics store (git notes), baselines, gate rules and statistics."""

# torchlane.config imports this package's settings at its end, and the settings import Section
# from torchlane.config: loading the config first keeps either import order working.
import torchlane.config  # noqa: F401
