"""Settings: the schema (one model per section), which file holds it, and loading it."""
