"""Doctor checks for the GPU side: NVIDIA driver against the CUDA runtime torch was built with,
GPU visibility, the toolkit on PATH, and the environment variables that change CUDA behaviour.

Pure functions of MachineFacts: tests hand them a driver 535 and a cu130 build on a CPU machine.
"""

from __future__ import annotations

import re

from torchlane.doctor.findings import Finding, Status, ok
from torchlane.doctor.probe import MachineFacts
from torchlane.env.matrix import load_matrix, version_key, wheel_index

# The driver minima live in the compatibility matrix (torchlane/env/matrix.json, with sources).
# The CUDA builds that the newest three releases ship are where an old driver finds a way out.
_RECENT_RELEASES = 3

NOTHING_USED = "set accelerator = 'cudaX.Y' in [tool.torchlane.env] to use them"

_ALLOC_CONF_ITEM = re.compile(r"[a-z_]+:[^,:]+")
_CUBLAS_CONFIG = re.compile(r"(:\d+:\d+)+")


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def minimum_driver(cuda_version: str) -> str | None:
    """The oldest Linux driver that runs a CUDA `cuda_version` runtime (e.g. '13.0' -> '580.65.06').

    Minor-version compatibility makes the minimum a property of the CUDA major version, so a
    minor release the matrix does not list takes its family's minimum.
    """
    matrix = load_matrix()
    exact = matrix.min_driver(major_minor(cuda_version))
    if exact is not None:
        return exact
    major = cuda_version.split(".", maxsplit=1)[0]
    family = [
        entry.family_min_driver
        for cuda, entry in matrix.cuda.items()
        if cuda.split(".")[0] == major
    ]
    return family[0] if family else None


def toolkit_driver(cuda_version: str) -> str | None:
    """The driver the CUDA toolkit release shipped with, when known."""
    return load_matrix().toolkit_driver(major_minor(cuda_version))


def _recent_cuda_builds() -> list[str]:
    matrix = load_matrix()
    recent = sorted(matrix.releases, key=version_key)[-_RECENT_RELEASES:]
    builds = {cuda for minor in recent for cuda in matrix.releases[minor].cuda_builds}
    return sorted(builds, key=version_key)


def driver_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _newest_build_for(driver: str) -> str | None:
    have = driver_tuple(driver)
    runnable = [
        cuda
        for cuda in _recent_cuda_builds()
        if (minimum := minimum_driver(cuda)) is not None and have >= driver_tuple(minimum)
    ]
    return runnable[-1] if runnable else None


def check_driver(facts: MachineFacts, wants_cuda: bool) -> list[Finding]:
    runtime = facts.cuda_runtime
    if runtime is None:
        if facts.driver is None:
            return []
        return [
            Finding(
                check="driver",
                status=Status.INFO,
                found=f"NVIDIA driver {facts.driver} ({facts.driver_source})",
                expected="",
                fix="torch is not a CUDA build, so the driver is unused",
            )
        ]
    minimum = minimum_driver(runtime)
    if facts.driver is None:
        return [
            Finding(
                check="driver",
                status=Status.ERROR if wants_cuda else Status.WARNING,
                found="no NVIDIA driver (no NVML, no nvidia-smi on PATH)",
                expected=f">= {minimum} for CUDA {runtime}"
                if minimum
                else f"a driver for CUDA {runtime}",
                fix="install the NVIDIA driver on the host; in a container, start it with "
                "`--gpus all` (NVIDIA Container Toolkit)",
            )
        ]
    if minimum is None:
        return [
            Finding(
                check="driver",
                status=Status.WARNING,
                found=facts.driver,
                expected=f"a driver for CUDA {runtime}",
                fix=f"torchlane does not know the minimum driver for CUDA {runtime}; check NVIDIA's "
                "CUDA compatibility table",
            )
        ]
    if driver_tuple(facts.driver) < driver_tuple(minimum):
        suggestion = _newest_build_for(facts.driver)
        alternative = (
            f", or install a torch build this driver runs: --index-url "
            f"{wheel_index('cuda' + suggestion)}"
            if suggestion
            else ""
        )
        return [
            Finding(
                check="driver",
                status=Status.ERROR,
                found=f"{facts.driver} is too old for CUDA {runtime}",
                expected=f">= {minimum}",
                fix=f"upgrade the NVIDIA driver to >= {minimum}{alternative}",
            )
        ]
    shipped = toolkit_driver(runtime)
    if shipped and driver_tuple(facts.driver) < driver_tuple(shipped):
        return [
            Finding(
                check="driver",
                status=Status.WARNING,
                found=f"{facts.driver} runs CUDA {runtime} only through minor-version compatibility",
                expected=f">= {shipped} (CUDA {major_minor(runtime)}'s own driver)",
                fix=f"upgrade to >= {shipped} when you can: until then PTX JIT compilation fails "
                "(e.g. torch.compile/Triton kernels for new architectures)",
            )
        ]
    return [ok("driver", f"{facts.driver} ({facts.driver_source})", f">= {minimum}")]


def _hidden_by_visible_devices(facts: MachineFacts) -> bool:
    value = facts.variables.get("CUDA_VISIBLE_DEVICES")
    return value is not None and value.strip() in ("", "-1")


def check_gpus(facts: MachineFacts, wants_cuda: bool) -> list[Finding]:
    if facts.cuda_available:
        names = ", ".join(facts.device_names) or "unnamed"
        found = f"{facts.device_count} GPU(s): {names}"
        if wants_cuda:
            return [ok("GPUs", found, "at least one")]
        return [
            Finding(
                check="GPUs",
                status=Status.INFO,
                found=found,
                expected="none used (accelerator = cpu)",
                fix=NOTHING_USED,
            )
        ]
    if not wants_cuda or facts.cuda_runtime is None:
        return []  # a CPU build cannot see GPUs; the build check reports that
    if _hidden_by_visible_devices(facts):
        reason = f"CUDA_VISIBLE_DEVICES={facts.variables['CUDA_VISIBLE_DEVICES']!r} hides every GPU"
        fix = "unset CUDA_VISIBLE_DEVICES, or list the GPUs to use, e.g. CUDA_VISIBLE_DEVICES=0"
    elif facts.driver is None:
        reason = "no NVIDIA driver"
        fix = "install the driver; in a container, start it with `--gpus all`"
    else:
        said = "; ".join(facts.cuda_warnings)
        reason = f"torch.cuda.is_available() is False{': ' + said if said else ''}"
        fix = "see the driver finding; check `nvidia-smi` lists the GPU inside this environment"
    return [
        Finding(
            check="GPUs",
            status=Status.ERROR,
            found=reason,
            expected="at least one visible GPU",
            fix=fix,
        )
    ]


def check_toolkit(facts: MachineFacts) -> list[Finding]:
    """nvcc is the toolkit on PATH, not the runtime torch uses: report it, never confuse them."""
    if facts.nvcc is None:
        return []
    found = f"nvcc {facts.nvcc} (toolkit on PATH)"
    if facts.cuda_runtime is None:
        return [
            Finding(
                check="CUDA toolkit",
                status=Status.INFO,
                found=found,
                expected="not used: torch is a CPU build",
                fix="nvcc is not a CUDA runtime; torch uses none (ignore what collect_env says)",
            )
        ]
    if major_minor(facts.nvcc) != major_minor(facts.cuda_runtime):
        return [
            Finding(
                check="CUDA toolkit",
                status=Status.INFO,
                found=found,
                expected=f"{major_minor(facts.cuda_runtime)} to build CUDA extensions",
                fix=f"torch runs its own CUDA {facts.cuda_runtime} runtime; only when compiling "
                f"extensions put a CUDA {major_minor(facts.cuda_runtime)} toolkit first "
                "(CUDA_HOME, PATH)",
            )
        ]
    return [ok("CUDA toolkit", found, f"{major_minor(facts.cuda_runtime)}")]


def check_variables(facts: MachineFacts, wants_cuda: bool, deterministic: bool) -> list[Finding]:
    found: list[Finding] = []
    variables = facts.variables
    if _hidden_by_visible_devices(facts):
        found.append(
            Finding(
                check="CUDA_VISIBLE_DEVICES",
                status=Status.WARNING,
                found=repr(variables["CUDA_VISIBLE_DEVICES"]),
                expected="unset, or GPU ids",
                fix="it hides every GPU from torch: unset it, or list GPUs, e.g. CUDA_VISIBLE_DEVICES=0",
            )
        )
    elif "CUDA_VISIBLE_DEVICES" in variables:
        found.append(
            Finding(
                check="CUDA_VISIBLE_DEVICES",
                status=Status.INFO,
                found=variables["CUDA_VISIBLE_DEVICES"],
                expected="",
                fix="torch sees only these GPUs, renumbered from 0",
            )
        )
    uses_cuda = wants_cuda or facts.cuda_available
    cublas = variables.get("CUBLAS_WORKSPACE_CONFIG")
    if uses_cuda and deterministic and cublas is None:
        found.append(
            Finding(
                check="CUBLAS_WORKSPACE_CONFIG",
                status=Status.WARNING,
                found="unset",
                expected=":4096:8 (determinism is wanted)",
                fix="export CUBLAS_WORKSPACE_CONFIG=:4096:8 (torchlane run and "
                "torchlane.seed_everything set it); without it deterministic mode raises in "
                "torch.mm/bmm on CUDA",
            )
        )
    elif cublas is not None and not _CUBLAS_CONFIG.fullmatch(cublas):
        found.append(
            Finding(
                check="CUBLAS_WORKSPACE_CONFIG",
                status=Status.WARNING,
                found=repr(cublas),
                expected=":4096:8 or :16:8",
                fix="set CUBLAS_WORKSPACE_CONFIG=:4096:8; cuBLAS ignores a malformed value",
            )
        )
    alloc = variables.get("PYTORCH_CUDA_ALLOC_CONF")
    if alloc is not None:
        items = [item.strip() for item in alloc.split(",") if item.strip()]
        if all(_ALLOC_CONF_ITEM.fullmatch(item) for item in items):
            found.append(ok("PYTORCH_CUDA_ALLOC_CONF", alloc, "key:value,..."))
        else:
            found.append(
                Finding(
                    check="PYTORCH_CUDA_ALLOC_CONF",
                    status=Status.WARNING,
                    found=repr(alloc),
                    expected="key:value,... e.g. expandable_segments:True",
                    fix="fix the syntax: torch raises at the first CUDA allocation",
                )
            )
    if variables.get("CUDA_LAUNCH_BLOCKING", "0").strip() not in ("", "0"):
        found.append(
            Finding(
                check="CUDA_LAUNCH_BLOCKING",
                status=Status.WARNING,
                found=variables["CUDA_LAUNCH_BLOCKING"],
                expected="unset",
                fix="every kernel launch waits, training runs several times slower: unset it "
                "unless you are debugging a CUDA error",
            )
        )
    return found
