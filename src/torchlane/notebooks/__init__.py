"""Notebook hygiene: strip outputs and volatile metadata, export notebooks to modules, and serve
git's long-running filter protocol.

This package's __init__ imports nothing: `filter_process` runs inside `git add` and must start
with only json/sys/os loaded.
"""
