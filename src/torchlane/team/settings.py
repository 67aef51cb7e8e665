"""`[tool.torchlane.team]`: members and groups with their share of a shared GPU server.

Only what one entry can check on its own lives here (memory strings, port ranges, names); what
needs the whole table (overlapping GPUs, duplicate ports, group membership) is checked by
torchlane.team.quotas, whose errors name the file and both keys involved.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from torchlane.config.section import Section

_MEMORY = re.compile(r"\s*(\d+)\s*([kmgt])(?:i?b)?\s*", re.IGNORECASE | re.ASCII)
_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
# Unix user names, which are also compose service names and environment-variable suffixes.
_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_HOST_PATH = re.compile(r"/[\w.+@/-]*")

GpuIndex = Annotated[int, Field(ge=0, le=1023)]
# Device indices as NVML (nvidia-smi, docker's device_ids) numbers them, or a count that
# torchlane turns into indices nobody else holds.
Gpus = tuple[GpuIndex, ...] | Annotated[int, Field(ge=0, le=1024)]
Port = Annotated[int, Field(ge=1024, le=65535)]


def memory_bytes(text: str) -> int:
    """Bytes in a docker-style size: '64g', '512m', '1t' (binary units; 'gb'/'GiB' accepted)."""
    match = _MEMORY.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError("write a size as a number and a unit k, m, g or t, e.g. '64g' or '512m'")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def format_memory(size: int) -> str:
    """The shortest docker-style size equal to `size` bytes, rounded down to whole MiB."""
    mib = max(size // 1024**2, 1)
    for unit, scale in (("t", 1024**2), ("g", 1024), ("m", 1)):
        if mib % scale == 0:
            return f"{mib // scale}{unit}"
    raise AssertionError("unreachable: every MiB count is a whole number of m")


def _normalized_memory(value: str) -> str:
    return format_memory(memory_bytes(value))


class MemberSettings(Section):
    """One person on the server: their own quota, or (in a group) only their ports and home."""

    user: str | None = Field(default=None, description="Unix user; the member's name by default")
    gpus: Gpus = 0
    memory: str = "32g"
    shm_size: str = "8g"
    cpus: float = Field(default=4, gt=0, le=1024)
    jupyter_port: Port
    tensorboard_port: Port
    # The member's uid (and gid, the uid by default) on the server: their container runs as them,
    # so files in `workdir` keep their owner and `torchlane gpus` knows their processes.
    uid: int | None = Field(default=None, ge=0)
    gid: int | None = Field(default=None, ge=0)
    workdir: str | None = Field(
        default=None,
        description="host directory mounted at /workspace; /home/<user>/<project> by default",
    )

    @field_validator("memory", "shm_size")
    @classmethod
    def _size(cls, value: str) -> str:
        return _normalized_memory(value)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Unix user name: lowercase letters, digits, '_' and '-', "
                "starting with a letter or '_'"
            )
        return value

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, value: str | None) -> str | None:
        # The host side of a compose volume (`HOST:/workspace`): ':' would add a mode or a
        # second path, '$' is compose's interpolation.
        if value is not None and not _HOST_PATH.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a usable host directory: an absolute path of letters, digits, "
                "'_', '.', '-', '+', '@' and '/', e.g. '/data/alice/project'"
            )
        return value


class GroupSettings(Section):
    """Members sharing one quota: the GPUs are visible to all of them; memory and CPUs are a
    total, split evenly between the members' containers (docker cannot cap a sum of containers)."""

    members: tuple[str, ...] = Field(min_length=1)
    gpus: Gpus = 0
    memory: str = "64g"
    shm_size: str = "8g"  # per container: /dev/shm is each container's own
    cpus: float = Field(default=8, gt=0, le=1024)

    @field_validator("memory", "shm_size")
    @classmethod
    def _size(cls, value: str) -> str:
        return _normalized_memory(value)


class TeamConfig(Section):
    server_gpus: int | None = Field(default=None, ge=0, le=1024)
    # A GPU held by two members or groups: "refuse" (exclusive, the default) or "warn".
    shared_gpus: Literal["refuse", "warn"] = "refuse"
    members: dict[str, MemberSettings] = Field(default_factory=dict)
    groups: dict[str, GroupSettings] = Field(default_factory=dict)

    @field_validator("members", "groups")
    @classmethod
    def _names(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a usable name: lowercase letters, digits, '_' and '-', "
                    "starting with a letter or '_' (a Unix user name)"
                )
        return value

    @property
    def declared(self) -> bool:
        return bool(self.members or self.groups)
