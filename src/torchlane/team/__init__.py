"""The team sharing one GPU server: quotas (`[tool.torchlane.team]`) and who uses which GPU."""
