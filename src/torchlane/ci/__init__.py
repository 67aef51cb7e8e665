"""The merge-gating pipeline: run it locally (`torchlane ci`) exactly as GitHub Actions or GitLab CI will."""
