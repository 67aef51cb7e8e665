"""Secret scanning: rules, notebook-aware scanning, baselines, git sources."""
