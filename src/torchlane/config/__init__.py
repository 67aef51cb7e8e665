"""Settings: the schema (one model per section), which file holds it, and loading it."""

# The files that may hold the settings; torchlane.config.source decides which one does. Defined
# in the package itself so that the lean snapshot (torchlane.config.snapshot) names them without
# importing the source rule's pathlib and typing.
PYPROJECT = "pyproject.toml"
FALLBACK_FILE = ".torchlane.toml"
