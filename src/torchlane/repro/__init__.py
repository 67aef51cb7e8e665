"""Reproducible runs: seeding, run manifests in git notes, and re-running a recorded run."""
