"""`[tool.torchlane.hooks]`: what the git hooks check and who may push straight to main/develop."""

from __future__ import annotations

from torchlane.config.section import Section


class HooksConfig(Section):
    # git `user.email` addresses (release managers) allowed to push directly to main/develop.
    allow_direct_push: tuple[str, ...] = ()
    # Refuse direct pushes to (and deletions of) the main and develop branches.
    protect_long_lived: bool = True
    check_branch_names: bool = True
    scan_secrets: bool = True
    check_notebooks: bool = True
    check_environment: bool = True
