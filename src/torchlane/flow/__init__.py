"""The team branch model: naming, start, finish (journaled), sync, publish, status, verify."""
