"""`torchlane doctor`: this machine's facts against the environment declaration."""
