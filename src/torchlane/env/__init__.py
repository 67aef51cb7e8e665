"""Pinned, verified environments: declaration, compatibility matrix, generators, doctor, lock."""
