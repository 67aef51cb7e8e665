"""Who runs a process: its Unix user (from /proc/<pid>/status) and its container (from
/proc/<pid>/cgroup). Written by hand: psutil would give the user but not the container, and
docker's API would need a socket most users may not read."""

from __future__ import annotations

import pwd
import re
from dataclasses import dataclass
from pathlib import Path

# The container id as each runtime writes it into the cgroup path:
#   cgroup v1:            /docker/<id>, /kubepods/burstable/pod<uid>/<id>
#   cgroup v2 (systemd):  /system.slice/docker-<id>.scope, .../cri-containerd-<id>.scope,
#                         crio-<id>.scope, libpod-<id>.scope (podman)
_CONTAINER = re.compile(
    r"(?:(?P<runtime>docker|cri-containerd|containerd|crio|libpod)[-/]|/)(?P<id>[0-9a-f]{64})(?:\.scope)?(?:/|$)"
)
_RUNTIME_NAMES = {"cri-containerd": "containerd", "libpod": "podman"}


@dataclass(frozen=True)
class Container:
    runtime: str  # docker, containerd, crio, podman; "kubernetes" prefixes a pod's container
    id: str  # the first 12 hex digits, as `docker ps` shows them

    def __str__(self) -> str:
        return f"{self.runtime}:{self.id}"


def uid_of(pid: int, proc: Path = Path("/proc")) -> int | None:
    try:
        status = (proc / str(pid) / "status").read_text(encoding="utf-8", errors="replace")
    except OSError:  # gone, or another PID namespace (torchlane itself in a container)
        return None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            fields = line.split()
            return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    return None


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry, e.g. a container's own user
        return str(uid)


def container_of_cgroup(text: str) -> Container | None:
    """The container in the text of a /proc/<pid>/cgroup file, or None for a host process."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        match = _CONTAINER.search(path)
        if match is None:
            continue
        runtime = match.group("runtime") or ("kubepods" if "kubepods" in path else "docker")
        runtime = _RUNTIME_NAMES.get(runtime, runtime)
        if "kubepods" in path:
            runtime = "kubernetes" if runtime == "kubepods" else f"kubernetes/{runtime}"
        return Container(runtime, match.group("id")[:12])
    return None


def container_of(pid: int, proc: Path = Path("/proc")) -> Container | None:
    try:
        text = (proc / str(pid) / "cgroup").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return container_of_cgroup(text)
