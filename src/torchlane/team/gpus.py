"""`torchlane gpus`: which GPUs are busy, by which process, user and container.

NVML is read through an NVML-like object: the `pynvml` module of nvidia-ml-py (imported only
here), or any object with the same functions (the tests pass a small fake one).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.team.procinfo import container_of, uid_of, user_name
from torchlane.team.quotas import TeamPlan

_MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class GpuProcess:
    pid: int
    memory_mib: int | None  # None: the driver does not report it (e.g. some vGPU setups)
    user: str | None  # None: the process is not visible from here (another PID namespace)
    container: str | None  # "docker:0123456789ab"; None on the host
    member: str | None  # the team member running it, when a team is declared
    outside_quota: bool


@dataclass(frozen=True, kw_only=True)
class GpuDevice:
    index: int
    name: str
    memory_used_mib: int
    memory_total_mib: int
    utilization_percent: int | None
    processes: list[GpuProcess]


@dataclass
class GpuUsage:
    available: bool
    reason: str | None  # why there is nothing to show
    devices: list[GpuDevice] = field(default_factory=list)
    outside_quota: list[str] = field(default_factory=list)  # one sentence per offending process
    warnings: list[str] = field(default_factory=list)


def load_nvml() -> Any:
    """The pynvml module, or None on a machine without the NVIDIA driver's NVML library.

    Raises when the library is there but nvidia-ml-py is not: saying "no GPUs" would be wrong."""
    try:
        import pynvml
    except ImportError:
        try:
            ctypes.CDLL("libnvidia-ml.so.1")
        except OSError:
            return None
        raise TorchlaneError(
            "this machine has the NVIDIA driver's NVML library, but nvidia-ml-py is not installed.",
            "Install it: pip install 'torchlane[gpu]' (or pip install nvidia-ml-py).",
        ) from None
    return pynvml


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _process(
    nvml_process: Any, index: int, team: TeamPlan | None, proc: Path
) -> tuple[GpuProcess, str | None]:
    pid = int(nvml_process.pid)
    used = getattr(nvml_process, "usedGpuMemory", None)
    uid = uid_of(pid, proc)
    user = None if uid is None else user_name(uid)
    container = container_of(pid, proc)
    seat = team.seat_of_user(user) if team and user else None
    outside = seat is not None and index not in seat.gpus
    flag = None
    if seat is not None and outside:
        allowed = ", ".join(map(str, seat.gpus)) or "none"
        flag = (
            f"{seat.member} (user {user}) uses GPU {index} (pid {pid}), "
            f"outside their quota {seat.quota!r} (GPUs: {allowed})"
        )
    process = GpuProcess(
        pid=pid,
        memory_mib=None if used is None else int(used) // _MIB,
        user=user,
        container=None if container is None else str(container),
        member=seat.member if seat else None,
        outside_quota=outside,
    )
    return process, flag


def gpu_usage(nvml: Any, team: TeamPlan | None = None, proc: Path = Path("/proc")) -> GpuUsage:
    if nvml is None:
        return GpuUsage(False, "no NVIDIA driver on this machine (NVML library not found)")
    error = getattr(nvml, "NVMLError", Exception)
    try:
        nvml.nvmlInit()
    except error as exc:
        return GpuUsage(False, f"NVML could not start ({exc}): no usable GPU on this machine")
    try:
        count = int(nvml.nvmlDeviceGetCount())
        usage = GpuUsage(count > 0, None if count else "NVML sees no GPU on this machine")
        if team and team.server_gpus is not None and count and count != team.server_gpus:
            usage.warnings.append(
                f"[tool.torchlane.team] declares server_gpus = {team.server_gpus}, "
                f"but NVML sees {count} GPU(s) here: is this the shared server?"
            )
        for index in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                utilization: int | None = int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except error:  # not supported on this device (e.g. a MIG instance)
                utilization = None
            processes = []
            for nvml_process in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                process, flag = _process(nvml_process, index, team, proc)
                processes.append(process)
                if flag:
                    usage.outside_quota.append(flag)
            usage.devices.append(
                GpuDevice(index=index, name=_text(nvml.nvmlDeviceGetName(handle)),
                          memory_used_mib=int(memory.used) // _MIB, memory_total_mib=int(memory.total) // _MIB, utilization_percent=utilization,
                          processes=processes)
            )  # fmt: skip
        return usage
    finally:
        nvml.nvmlShutdown()
