"""Thin click commands, one module per command family. Each parses, calls a plain function, renders."""
