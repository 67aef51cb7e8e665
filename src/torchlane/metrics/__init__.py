"""Metrics store (git notes), baselines, gate rules and statistics."""
