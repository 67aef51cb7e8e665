"""`torchlane env generate`: Dockerfile, compose file and devcontainer from the declaration."""
