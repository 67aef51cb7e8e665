"""What this machine actually runs: facts gathered from torch itself, NVML/nvidia-smi and the
environment. Gathering is kept apart from judging (env/doctor.py), so that every GPU-only check
can be tested on a CPU machine by handing the judge constructed facts.

Unlike `torch.utils.collect_env`, the CUDA runtime and cuDNN versions come from what torch loaded
(`torch.version.cuda`, `torch.backends.cudnn.version()`), never from `nvcc` on PATH or from
`ldconfig` file names: nvcc is reported separately as the toolkit on PATH.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from packaging.utils import canonicalize_name

from torchlane import proc

# Variables that change what torch sees or does on a GPU; reported and checked by the doctor.
WATCHED_VARIABLES = (
    "CUDA_VISIBLE_DEVICES",
    "CUBLAS_WORKSPACE_CONFIG",
    "PYTORCH_CUDA_ALLOC_CONF",
    "CUDA_LAUNCH_BLOCKING",
    "PYTHONHASHSEED",
)

_NVCC_RELEASE = re.compile(r"release (\d+\.\d+)")

DriverSource = Literal["nvml", "nvidia-smi"]  # how the NVIDIA driver version was read


@dataclass(frozen=True)
class MachineFacts:
    python: str  # full version, e.g. 3.11.7
    torch: str | None = None  # torch.__version__, e.g. 2.13.0+cpu; None: not importable
    torch_error: str | None = None  # why `import torch` failed, when it did
    cuda_runtime: str | None = None  # torch.version.cuda: the runtime torch was built with
    hip_runtime: str | None = None  # torch.version.hip
    cudnn: int | None = None  # torch.backends.cudnn.version()
    cuda_available: bool = False
    device_count: int = 0
    device_names: tuple[str, ...] = ()
    cuda_warnings: tuple[str, ...] = ()  # what torch warned while looking for GPUs
    driver: str | None = None  # NVIDIA driver version, e.g. 570.124.06
    driver_source: DriverSource | None = None  # None: no NVIDIA driver found
    nvcc: str | None = None  # CUDA toolkit release of `nvcc` on PATH, e.g. 13.0
    variables: dict[str, str] = field(default_factory=dict)  # the WATCHED_VARIABLES that are set
    packages: dict[str, str] = field(default_factory=dict)  # PEP 503 name -> installed version


def installed_packages() -> dict[str, str]:
    """Every distribution importlib.metadata sees, by normalised name (first one on sys.path wins)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist.version)
    return found


def _with_torch_facts(facts: MachineFacts) -> MachineFacts:
    try:
        import torch
    except Exception as exc:  # a broken install raises OSError/ImportError/RuntimeError alike
        return replace(facts, torch_error=f"{type(exc).__name__}: {exc}")
    found: dict[str, Any] = {
        "torch": str(torch.__version__),
        "cuda_runtime": torch.version.cuda,
        "hip_runtime": getattr(torch.version, "hip", None),
    }
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    found["cudnn"] = int(cudnn) if cudnn is not None else None
    # A too-old driver or a hidden GPU makes torch warn here; the warning text is a finding.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = bool(torch.cuda.is_available())
        count = int(torch.cuda.device_count()) if available else 0
        names = tuple(str(torch.cuda.get_device_name(i)) for i in range(count))
    found.update(
        cuda_available=available,
        device_count=count,
        device_names=names,
        cuda_warnings=tuple(str(w.message).strip() for w in caught),
    )
    return replace(facts, **found)


def _driver_from_nvml() -> str | None:
    try:
        nvml = importlib.import_module("pynvml")  # from nvidia-ml-py, when installed
    except ImportError:
        return None
    try:
        nvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound, DriverNotLoaded...: no usable driver
        return None
    try:
        version = nvml.nvmlSystemGetDriverVersion()
        return version.decode() if isinstance(version, bytes) else str(version)
    finally:
        nvml.nvmlShutdown()


def _driver_from_smi() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        done = proc.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"], timeout=20, check=False
        )
    except (OSError, proc.ProcTimeoutError):
        return None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return lines[0] if done.ok and lines else None


def nvidia_driver() -> tuple[str | None, DriverSource | None]:
    """(driver version, where it came from): NVML first, then nvidia-smi, else (None, None)."""
    version = _driver_from_nvml()
    if version:
        return version, "nvml"
    version = _driver_from_smi()
    if version:
        return version, "nvidia-smi"
    return None, None


def nvcc_release() -> str | None:
    """The release of the CUDA toolkit whose nvcc is on PATH: only matters for building extensions."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    try:
        done = proc.run([nvcc, "--version"], timeout=20, check=False)
    except (OSError, proc.ProcTimeoutError):
        return None
    match = _NVCC_RELEASE.search(done.stdout)
    return match.group(1) if match else None


def watched_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    return {name: source[name] for name in WATCHED_VARIABLES if name in source}


def probe_machine() -> MachineFacts:
    """Gather the facts. Imports torch (and NVML when installed): only `doctor` pays for it."""
    driver, source = nvidia_driver()
    facts = MachineFacts(
        python=platform.python_version(),
        driver=driver,
        driver_source=source,
        nvcc=nvcc_release(),
        variables=watched_variables(),
        packages=installed_packages(),
    )
    return _with_torch_facts(facts)
