"""The doctor's judgement on constructed machines: GPU-only situations checked without a GPU."""

from __future__ import annotations

from dataclasses import replace

import pytest

from torchlane.doctor.diagnose import LockFile, diagnose, format_cudnn, minimum_driver
from torchlane.doctor.findings import Finding, Status
from torchlane.doctor.gpu import driver_tuple, toolkit_driver
from torchlane.doctor.probe import MachineFacts
from torchlane.env.matrix import wheel_index
from torchlane.env.settings import EnvSpec

CUDA_SPEC = EnvSpec(python="3.11", torch="2.11.0", accelerator="cuda12.8")

HEALTHY_GPU = MachineFacts(
    python="3.11.9",
    torch="2.11.0+cu128",
    cuda_runtime="12.8",
    cudnn=91701,
    cuda_available=True,
    device_count=2,
    device_names=("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"),
    driver="570.124.06",
    driver_source="nvml",
    variables={"CUBLAS_WORKSPACE_CONFIG": ":4096:8"},
)


def by_check(findings: list[Finding], check: str) -> Finding:
    matching = [f for f in findings if f.check == check]
    assert len(matching) == 1, findings
    return matching[0]


def errors(findings: list[Finding]) -> list[str]:
    return [f.check for f in findings if f.status is Status.ERROR]


def test_matching_gpu_machine_is_all_ok() -> None:
    findings = diagnose(HEALTHY_GPU, CUDA_SPEC, None)
    assert errors(findings) == []
    assert [f.status for f in findings] == [Status.OK] * len(findings)
    assert (
        by_check(findings, "GPUs").found == "2 GPU(s): NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3"
    )
    assert by_check(findings, "cuDNN").found == "9.17.1"


def test_cpu_only_build_against_declared_cuda_is_an_error_with_the_install_command() -> None:
    cpu_build = replace(
        HEALTHY_GPU, torch="2.11.0+cpu", cuda_runtime=None, cudnn=None, cuda_available=False,
        device_count=0, device_names=(),
    )  # fmt: skip
    findings = diagnose(cpu_build, CUDA_SPEC, None)
    build = by_check(findings, "torch build")
    assert build.status is Status.ERROR
    assert "CPU-only" in build.found
    assert build.fix == (
        "pip install --force-reinstall torch==2.11.0 "
        "--index-url https://download.pytorch.org/whl/cu128"
    )
    # A CPU build cannot see GPUs: the build error is the one cause, not a second GPU error.
    assert errors(findings) == ["torch build"]


def test_cu130_build_with_driver_535_is_an_error_that_says_what_to_install() -> None:
    facts = replace(
        HEALTHY_GPU, torch="2.13.0+cu130", cuda_runtime="13.0", driver="535.104.05",
        cuda_available=False, device_count=0, device_names=(),
        cuda_warnings=("The NVIDIA driver on your system is too old (found version 12020).",),
    )  # fmt: skip
    spec = EnvSpec(python="3.11", torch="2.13.0", accelerator="cuda13.0")
    findings = diagnose(facts, spec, None)
    driver = by_check(findings, "driver")
    assert driver.status is Status.ERROR
    assert driver.expected == ">= 580.65.06"  # the 13.0 GA driver, from the matrix
    assert "upgrade the NVIDIA driver to >= 580.65.06" in driver.fix
    # 535 runs every CUDA 12.x build (minor-version compatibility): cu126 is the one to suggest.
    assert driver.fix.endswith("https://download.pytorch.org/whl/cu126")
    gpus = by_check(findings, "GPUs")
    assert gpus.status is Status.ERROR
    assert "too old" in gpus.found


def test_driver_below_the_toolkit_driver_works_through_minor_version_compatibility() -> None:
    facts = replace(HEALTHY_GPU, driver="535.104.05")
    driver = by_check(diagnose(facts, CUDA_SPEC, None), "driver")
    assert driver.status is Status.WARNING
    assert "minor-version compatibility" in driver.found
    assert driver.expected.startswith(">= 570.26")


def test_no_driver_on_a_cuda_project() -> None:
    facts = replace(
        HEALTHY_GPU, driver=None, driver_source=None, cuda_available=False, device_count=0,
        device_names=(),
    )  # fmt: skip
    findings = diagnose(facts, CUDA_SPEC, None)
    assert errors(findings) == ["driver", "GPUs"]
    assert "--gpus all" in by_check(findings, "driver").fix


def test_empty_cuda_visible_devices_is_named_as_the_cause() -> None:
    facts = replace(
        HEALTHY_GPU, cuda_available=False, device_count=0, device_names=(),
        variables={"CUDA_VISIBLE_DEVICES": "", "CUBLAS_WORKSPACE_CONFIG": ":4096:8"},
    )  # fmt: skip
    findings = diagnose(facts, CUDA_SPEC, None)
    assert "hides every GPU" in by_check(findings, "GPUs").found
    assert by_check(findings, "CUDA_VISIBLE_DEVICES").status is Status.WARNING


@pytest.mark.parametrize(
    ("variables", "deterministic", "expected"),
    [
        ({}, True, Status.WARNING),
        ({"CUBLAS_WORKSPACE_CONFIG": "4096"}, True, Status.WARNING),
        ({"CUBLAS_WORKSPACE_CONFIG": ":16:8"}, True, None),
        ({}, False, None),
    ],
)
def test_cublas_workspace_config(
    variables: dict[str, str], deterministic: bool, expected: Status | None
) -> None:
    facts = replace(HEALTHY_GPU, variables=variables)
    findings = diagnose(facts, CUDA_SPEC, None, deterministic=deterministic)
    found = [f.status for f in findings if f.check == "CUBLAS_WORKSPACE_CONFIG"]
    assert found == ([expected] if expected else [])


def test_launch_blocking_and_alloc_conf() -> None:
    facts = replace(
        HEALTHY_GPU,
        variables={
            "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
            "CUDA_LAUNCH_BLOCKING": "1",
            "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments=True",
        },
    )
    findings = diagnose(facts, CUDA_SPEC, None)
    assert by_check(findings, "CUDA_LAUNCH_BLOCKING").status is Status.WARNING
    assert by_check(findings, "PYTORCH_CUDA_ALLOC_CONF").status is Status.WARNING
    good = replace(facts, variables={"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"})
    assert by_check(diagnose(good, CUDA_SPEC, None), "PYTORCH_CUDA_ALLOC_CONF").status is Status.OK


def test_nvcc_on_path_is_never_taken_for_the_runtime() -> None:
    cpu = MachineFacts(python="3.11.7", torch="2.13.0+cpu", nvcc="13.0")
    findings = diagnose(cpu, EnvSpec(), None)
    assert errors(findings) == []
    toolkit = by_check(findings, "CUDA toolkit")
    assert toolkit.status is Status.INFO
    assert "not used" in toolkit.expected
    assert by_check(findings, "torch build").found == "cpu"
    mismatch = by_check(
        diagnose(replace(HEALTHY_GPU, nvcc="13.0"), CUDA_SPEC, None), "CUDA toolkit"
    )
    assert mismatch.status is Status.INFO
    assert "own CUDA 12.8 runtime" in mismatch.fix


def test_python_and_torch_version_mismatch() -> None:
    facts = replace(HEALTHY_GPU, python="3.12.1", torch="2.10.0+cu128")
    findings = diagnose(facts, CUDA_SPEC, None)
    assert errors(findings) == ["python", "torch"]
    assert "Python 3.11" in by_check(findings, "python").fix


def test_torch_missing_or_broken() -> None:
    broken = MachineFacts(python="3.11.2", torch_error="OSError: libcudnn.so.9: cannot open")
    finding = by_check(diagnose(broken, CUDA_SPEC, None), "torch")
    assert finding.status is Status.ERROR
    assert "libcudnn" in finding.found
    missing = by_check(diagnose(MachineFacts(python="3.11.2"), EnvSpec(), None), "torch")
    assert missing.found == "not installed"


def test_missing_lock_file_is_a_warning() -> None:
    findings = diagnose(HEALTHY_GPU, CUDA_SPEC, LockFile("requirements.lock", None))
    assert by_check(findings, "lock").status is Status.WARNING
    assert "torchlane env lock" in by_check(findings, "lock").fix


@pytest.mark.parametrize(
    ("cuda", "minimum"),
    [("11.8", "450.80.02"), ("12.8", "525.60.13"), ("12.0", "525.60.13"), ("13.0", "580.65.06"),
     ("13.2", "580.65.06"), ("13.1", "580.65.06"), ("10.2", None), ("x", None)],
)  # fmt: skip
def test_minimum_driver(cuda: str, minimum: str | None) -> None:
    assert minimum_driver(cuda) == minimum


def test_driver_table_helpers() -> None:
    assert toolkit_driver("12.8.1") == "570.26"
    assert driver_tuple("580.65.06") > driver_tuple("580")
    assert driver_tuple("535.104.05") < driver_tuple("580")
    assert wheel_index("rocm6.4") == "https://download.pytorch.org/whl/rocm6.4"
    assert format_cudnn(91002) == "9.10.2"
    assert format_cudnn(8907) == "8.9.7"


def test_rocm_build_matches_a_rocm_declaration() -> None:
    facts = MachineFacts(python="3.11.2", torch="2.9.0+rocm6.4", hip_runtime="6.4.43482-0f2d60242")
    spec = EnvSpec(python="3.11", accelerator="rocm6.4")
    assert by_check(diagnose(facts, spec, None), "torch build").status is Status.OK


def test_without_a_declaration_only_self_inconsistencies_fail() -> None:
    laptop = MachineFacts(python="3.12.3", torch="2.13.0", cuda_runtime="13.0", cudnn=92000)
    findings = diagnose(laptop, None, LockFile("requirements.lock", None))
    # A PyPI (CUDA) wheel on a machine without NVIDIA hardware is fine when nothing is declared.
    assert errors(findings) == []
    assert by_check(findings, "declaration").status is Status.INFO
    assert by_check(findings, "python").status is Status.INFO
    assert by_check(findings, "lock").status is Status.INFO
    old_driver = replace(laptop, driver="535.104.05", driver_source="nvidia-smi")
    assert errors(diagnose(old_driver, None, None)) == ["driver", "GPUs"]
