"""`torchlane env lock`: the fully pinned lock with hashes and its header."""
