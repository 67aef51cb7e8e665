"""Benchmarks: each prints its figure as a ratio against the anchor it must beat, same run."""
