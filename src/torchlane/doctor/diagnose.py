"""`torchlane doctor`: the running environment against `[tool.torchlane.env]` and the lock.

`diagnose` is a pure function of the facts (env/probe.py gathers them), the declaration and the
lock's text; every finding says what to do. Errors are mismatches (exit 1); warnings and
information do not fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from torchlane.doctor.findings import DoctorReport, Finding, Status, ok
from torchlane.doctor.gpu import (
    check_driver,
    check_gpus,
    check_toolkit,
    check_variables,
    major_minor,
    minimum_driver,
)
from torchlane.doctor.packages import compare_packages, parse_lock
from torchlane.doctor.probe import MachineFacts
from torchlane.env.matrix import wheel_index
from torchlane.env.settings import EnvSpec

if TYPE_CHECKING:
    from torchlane.project import Project

__all__ = ["DoctorReport", "Finding", "LockFile", "Status", "diagnose", "minimum_driver"]


@dataclass(frozen=True)
class LockFile:
    name: str  # as the user wrote it in [tool.torchlane.env] lock
    text: str | None  # None: the file does not exist


def check_python(facts: MachineFacts, spec: EnvSpec) -> Finding:
    have = major_minor(facts.python)
    if have == spec.python:
        return ok("python", facts.python, spec.python)
    return Finding(
        check="python",
        status=Status.ERROR,
        found=facts.python,
        expected=spec.python,
        fix=f"recreate the environment with Python {spec.python} (e.g. `uv venv --python "
        f"{spec.python}`), or change python in [tool.torchlane.env]",
    )


def _build_of(facts: MachineFacts) -> str:
    """What torch loaded: 'cpu', 'cuda12.8' or 'rocm6.4', from torch.version, not the wheel name."""
    if facts.cuda_runtime:
        return f"cuda{major_minor(facts.cuda_runtime)}"
    if facts.hip_runtime:
        return f"rocm{major_minor(facts.hip_runtime)}"
    return "cpu"


def _install_torch(spec: EnvSpec, version: str | None) -> str:
    pinned = f"torch=={version}" if version else "torch"
    return f"pip install --force-reinstall {pinned} --index-url {wheel_index(spec.accelerator)}"


def check_torch(facts: MachineFacts, spec: EnvSpec) -> list[Finding]:
    if facts.torch is None:
        found = f"fails to import: {facts.torch_error}" if facts.torch_error else "not installed"
        return [
            Finding(
                check="torch",
                status=Status.ERROR,
                found=found,
                expected=spec.torch or "installed",
                fix=_install_torch(spec, spec.torch),
            )
        ]
    public = facts.torch.split("+")[0]
    findings: list[Finding] = []
    if spec.torch and public != spec.torch:
        findings.append(
            Finding(
                check="torch",
                status=Status.ERROR,
                found=facts.torch,
                expected=spec.torch,
                fix=_install_torch(spec, spec.torch),
            )
        )
    else:
        findings.append(ok("torch", facts.torch, spec.torch or "any"))
    build = _build_of(facts)
    declared = (
        spec.accelerator
        if not spec.accelerator.startswith("rocm")
        else major_minor_rocm(spec.accelerator)
    )
    if build == declared:
        findings.append(ok("torch build", build, spec.accelerator))
    else:
        what = "a CPU-only build: no GPU will be used" if build == "cpu" else f"built for {build}"
        findings.append(
            Finding(
                check="torch build",
                status=Status.ERROR,
                found=f"{facts.torch} is {what}",
                expected=f"{spec.accelerator} ([tool.torchlane.env] accelerator)",
                fix=_install_torch(spec, spec.torch or public),
            )
        )
    if facts.cuda_runtime:
        findings.append(_check_cudnn(facts))
    return findings


def major_minor_rocm(accelerator: str) -> str:
    return "rocm" + major_minor(accelerator[4:])


def _check_cudnn(facts: MachineFacts) -> Finding:
    if facts.cudnn is None:
        return Finding(
            check="cuDNN",
            status=Status.WARNING,
            found="not available to torch",
            expected="the cuDNN torch was built with",
            fix="reinstall torch from its CUDA index (the wheels bring nvidia-cudnn-cu*); without "
            "cuDNN convolutions fall back to slow kernels",
        )
    return ok("cuDNN", format_cudnn(facts.cudnn), "loaded by torch")


def format_cudnn(version: int) -> str:
    """torch reports 91002 for 9.10.2 and 8907 for 8.9.7."""
    if version >= 90000:
        return f"{version // 10000}.{version % 10000 // 100}.{version % 100}"
    return f"{version // 1000}.{version % 1000 // 100}.{version % 100}"


def undeclared(facts: MachineFacts) -> list[Finding]:
    """Without [tool.torchlane.env] there is nothing to compare python and torch with: report
    them, and keep only the checks the environment fails on its own (driver, lock, variables)."""
    findings = [
        Finding(
            check="declaration",
            status=Status.INFO,
            found="no [tool.torchlane.env]",
            expected="python, torch, accelerator",
            fix="declare them there so that doctor checks this machine against them",
        ),
        Finding(
            check="python",
            status=Status.INFO,
            found=facts.python,
            expected="",
            fix=NOTHING_DECLARED,
        ),
    ]
    if facts.torch is None and facts.torch_error:
        findings.append(
            Finding(
                check="torch",
                status=Status.ERROR,
                found=f"fails to import: {facts.torch_error}",
                expected="",
                fix="reinstall torch",
            )
        )
    else:
        findings.append(
            Finding(
                check="torch",
                status=Status.INFO,
                found=facts.torch or "not installed",
                expected="",
                fix=NOTHING_DECLARED,
            )
        )
    if facts.cuda_runtime:
        findings.append(_check_cudnn(facts))
    return findings


NOTHING_DECLARED = "nothing declared to compare with"


def diagnose(
    facts: MachineFacts,
    spec: EnvSpec | None,
    lock: LockFile | None,
    *,
    deterministic: bool = True,
) -> list[Finding]:
    """All findings; `spec` None: the project declares no environment."""
    if spec is None:
        # A CUDA build next to an NVIDIA driver is meant for the GPU, declared or not.
        wants_cuda = facts.cuda_runtime is not None and facts.driver is not None
        findings = undeclared(facts)
    else:
        wants_cuda = spec.cuda_version is not None
        findings = [check_python(facts, spec), *check_torch(facts, spec)]
    findings += check_driver(facts, wants_cuda)
    findings += check_gpus(facts, wants_cuda)
    findings += check_toolkit(facts)
    findings += check_variables(facts, wants_cuda, deterministic)
    if lock is None:
        return findings
    if lock.text is None:
        findings.append(
            Finding(
                check="lock",
                status=Status.WARNING if spec is not None else Status.INFO,
                found=f"{lock.name} does not exist",
                expected="a lock file with name==version lines",
                fix="create it with `torchlane env lock` (or pip-compile) and commit it",
            )
        )
    else:
        findings += compare_packages(parse_lock(lock.text), facts.packages, lock.name)
    return findings


def read_lock(root: Path, spec: EnvSpec) -> LockFile:
    path = root / spec.lock
    try:
        return LockFile(spec.lock, path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LockFile(spec.lock, None)


def run_doctor(project: Project) -> DoctorReport:
    """Probe this machine and judge it against the project."""
    from torchlane.doctor.probe import probe_machine

    loaded = project.loaded
    spec = loaded.config.env
    declared = "env" in loaded.config.model_fields_set
    lock = read_lock(project.root, spec)
    facts = probe_machine()
    findings = diagnose(
        facts,
        spec if declared else None,
        lock,
        deterministic=loaded.config.repro.deterministic,
    )
    machine = {k: v for k, v in asdict(facts).items() if k != "packages"}
    return DoctorReport(
        findings,
        str(loaded.path) if loaded.path else None,
        lock.name if lock.text else None,
        machine,
    )


_RECORDED_KEYS = ("python", "torch", "cuda", "cudnn", "platform", "device")


def compare_environments(
    recorded: Mapping[str, str | None], current: Mapping[str, str | None], *, strict: bool
) -> list[Finding]:
    """A run's recorded environment fingerprint against this one: what could change the numbers."""
    findings: list[Finding] = []
    for key in _RECORDED_KEYS:
        then, now = recorded.get(key), current.get(key)
        if then == now:
            continue
        findings.append(
            Finding(
                check=key,
                status=Status.ERROR if strict else Status.WARNING,
                found=str(now),
                expected=str(then),
                fix=f"recreate the recorded environment ({key} {then}) to reproduce bit for bit: "
                "another version or device can change floating-point results",
            )
        )
    return findings
