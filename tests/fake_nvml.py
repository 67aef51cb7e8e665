"""An NVML-like object for `torchlane gpus`: the subset of pynvml's API it calls, returning
constructed values. Used in-process, and as a `pynvml` module on PYTHONPATH for the CLI."""

# ruff: noqa: N802  (the names are pynvml's)
from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any


class NVMLError(Exception):
    pass


class FakeNvml:
    NVMLError = NVMLError

    def __init__(self, devices: list[dict[str, Any]], init_error: str | None = None):
        self.devices = devices
        self.init_error = init_error
        self.calls: list[str] = []

    @classmethod
    def from_json(cls, text: str) -> FakeNvml:
        data = json.loads(text)
        return cls(data["devices"], data.get("init_error"))

    def nvmlInit(self) -> None:
        if self.init_error:
            raise NVMLError(self.init_error)
        self.calls.append("init")

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        return self.devices[index]

    def nvmlDeviceGetName(self, handle: dict[str, Any]) -> str | bytes:
        name: str = handle["name"]
        return name.encode() if handle.get("name_as_bytes") else name  # older pynvml: bytes

    def nvmlDeviceGetMemoryInfo(self, handle: dict[str, Any]) -> SimpleNamespace:
        if handle.get("broken"):
            raise RuntimeError("the device fell off the bus")
        return SimpleNamespace(
            total=handle["total"], used=handle["used"], free=handle["total"] - handle["used"]
        )

    def nvmlDeviceGetUtilizationRates(self, handle: dict[str, Any]) -> SimpleNamespace:
        if handle.get("util") is None:
            raise NVMLError("Not Supported")
        return SimpleNamespace(gpu=handle["util"], memory=0)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: dict[str, Any]) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in handle["processes"]]
