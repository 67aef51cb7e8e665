"""`[tool.torchlane.env]`: the one declaration every generated file and check derives from."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from torchlane.config.section import Section
from torchlane.config.values import DockerSize, ImageReference, RepositoryPath

_ACCELERATOR = re.compile(r"cpu|cuda\d+\.\d+|rocm\d+(\.\d+){1,2}")
# A version-like word (env check names an unknown release with its line; this keeps out what
# an image tag, a shell or a CI expression would act on).
_RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}", re.ASCII)


class EnvSpec(Section):
    python: str = Field(default="3.11", description="MAJOR.MINOR of the Python interpreter")
    torch: str | None = Field(default=None, description="exact torch release, e.g. 2.13.0")
    accelerator: str = Field(default="cpu", description="cpu, cudaMAJ.MIN (cuda12.8) or rocmX.Y")
    flavor: Literal["runtime", "devel"] = "runtime"
    base_image: ImageReference | None = Field(
        default=None, description="explicit base image; derived if unset"
    )
    requirements: tuple[RepositoryPath, ...] = ("requirements.txt",)
    lock: RepositoryPath = "requirements.lock"
    jupyter_port: int = Field(default=8888, ge=1, le=65535)
    tensorboard_port: int = Field(default=6006, ge=1, le=65535)
    shm_size: DockerSize = "8g"
    memory: DockerSize = "32g"

    @field_validator("python")
    @classmethod
    def _major_minor(cls, value: str) -> str:
        if not re.fullmatch(r"3\.\d{1,2}", value):
            raise ValueError("write the Python version as MAJOR.MINOR, e.g. '3.11'")
        return value

    @field_validator("torch")
    @classmethod
    def _release(cls, value: str | None) -> str | None:
        # It names the derived image's tag: a version, nothing a Dockerfile or shell acts on.
        if value is not None and not _RELEASE.fullmatch(value):
            raise ValueError(
                "write torch as an exact release (letters, digits, '.', '+', '_', '-'), "
                "e.g. '2.13.0'"
            )
        return value

    @field_validator("accelerator")
    @classmethod
    def _known_accelerator(cls, value: str) -> str:
        if not _ACCELERATOR.fullmatch(value):
            raise ValueError("use 'cpu', 'cudaMAJOR.MINOR' (e.g. 'cuda12.8') or 'rocmX.Y'")
        return value

    @property
    def cuda_version(self) -> str | None:
        return self.accelerator[4:] if self.accelerator.startswith("cuda") else None
