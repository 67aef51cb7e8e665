"""`[tool.torchlane.ci]`: stages, where artifacts go, and how CI machines are chosen."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from torchlane.config.section import Section
from torchlane.config.values import (
    ImageName,
    ImageReference,
    PlainUrl,
    RepositoryPath,
    RunnerLabel,
)

_STAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

# Where a stage runs: topic = push to feature/bugfix/refactor (and pull requests into develop),
# develop = push to develop, release = release/hotfix branches and pull requests into main.
Context = Literal["topic", "develop", "release", "main"]


class StageSettings(Section):
    """Overrides a default stage, or declares a new one (then `command` is required)."""

    command: str | None = Field(
        default=None, description="shell-free command line, split like a shell"
    )
    inputs: tuple[str, ...] | None = None
    needs: tuple[str, ...] | None = None
    required: bool | None = None
    enabled: bool = True
    contexts: tuple[Context, ...] | None = None
    gpu: bool | None = Field(
        default=None,
        description="runs in CI's evaluation jobs on GPU runners; default: evaluate, gate, "
        "report and the stages that need them",
    )


class CiSettings(Section):
    artifacts: RepositoryPath = "ci-artifacts"
    jobs: int = Field(default=0, ge=0, description="parallel stages; 0 = one per CPU")
    stages: dict[str, StageSettings] = Field(default_factory=dict)
    # CI platforms
    # Runners of the evaluation jobs; empty: ubuntu-latest, refused when the accelerator is CUDA.
    gpu_runner_labels: tuple[RunnerLabel, ...] = ()
    gitlab_gpu_tags: tuple[RunnerLabel, ...] = ()
    # CI_JOB_TOKEN can neither push the metrics notes nor write merge-request notes.
    gitlab_token_variable: str = Field(
        default="TORCHLANE_GITLAB_TOKEN",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="GitLab CI/CD variable holding a project access token (write_repository, "
        "api) that pushes the metrics notes and posts the merge-request report",
    )
    image: ImageReference | None = Field(
        default=None, description="CI image; default: derived from [tool.torchlane.env]"
    )
    registry_image: ImageName | None = Field(
        default=None,
        description="where tagged releases push their image; default ghcr.io/OWNER/REPO",
    )
    required_reviews: int = Field(default=1, ge=0, le=10)
    # GitHub: the deployment environment of the jobs that record develop's and main's metrics.
    # It holds the TORCHLANE_SIGNING_KEY secret; restricted to develop and main, no pull
    # request's workflow can read it (a repository secret reaches any pushed branch's workflow).
    records_environment: str = Field(
        default="torchlane-records",
        pattern=r"^([A-Za-z0-9_.-]{1,255})?$",
        description="GitHub environment of the recording jobs (holds TORCHLANE_SIGNING_KEY); "
        "empty: none",
    )
    # How CI jobs and cluster Jobs install the project and torchlane (never a bare name).
    install_extras: tuple[str, ...] = Field(
        default=("dev",),
        description="extras of the project CI installs (pip install -e '.[dev]'): its stages' tools",
    )
    torchlane_source: PlainUrl | None = Field(
        default=None,
        description="where jobs get torchlane at the generating version: an index URL, a wheel "
        "URL or a git+ URL; default: the project's lock or extras must pin it",
    )

    @field_validator("stages")
    @classmethod
    def _stage_names(cls, value: dict[str, StageSettings]) -> dict[str, StageSettings]:
        # Stage names reach CI files (`--stage NAME`, step names), where GitHub evaluates `${{ }}`.
        for name in value:
            if not _STAGE.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a usable stage name: letters, digits, '_' and '-', starting "
                    "with a letter or digit, e.g. 'typecheck'"
                )
        return value

    @field_validator("install_extras")
    @classmethod
    def _extras(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for extra in value:
            if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", extra):
                raise ValueError(f"{extra!r} is not an extra's name (letters, digits, . _ -)")
        return value

    @field_validator("torchlane_source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is None:
            return value
        schemes = ("https://", "http://", "file://", "git+https://", "git+ssh://", "git+file://")
        if not value.startswith(schemes) or re.search(r"\s", value):
            raise ValueError(
                "expected an index URL, a wheel URL or a git+https:// URL (no spaces), "
                f"not {value!r}"
            )
        return value
