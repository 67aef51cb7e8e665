"""Releases ship the model: the binding of a release tag to its checkpoint, and the model store."""
