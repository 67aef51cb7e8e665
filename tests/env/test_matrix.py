from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from torchlane.env.matrix import MATRIX_FILE, load_matrix, parse_version, validate


def test_shipped_data_passes_its_validator() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane.env.matrix", "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["releases"]["2.9"]["cuda"].append("11.9"), "no entry under 'cuda'"),
        (lambda d: d["releases"]["2.9"].update(pypi_default_cuda="11.8"), "PyPI default"),
        (lambda d: d["releases"]["2.9"].update(conda_pytorch_cuda=["12.8"]), "stopped after 2.5"),
        (lambda d: d["releases"]["2.9"].update(python=["3.14", "3.10"]), "is empty"),
        (lambda d: d["releases"]["2.9"]["patches"].append("2.8.5"), "not a 2.9.N version"),
        (lambda d: d.pop("sources"), "sources"),
    ],
)
def test_validator_catches_inconsistent_data(edit, problem: str) -> None:
    data = json.loads(MATRIX_FILE.read_text(encoding="utf-8"))
    broken = copy.deepcopy(data)
    edit(broken)
    assert validate(data) == []
    assert any(problem in p for p in validate(broken))


def test_release_lookup_and_facts() -> None:
    matrix = load_matrix()
    release = matrix.release("2.9.0+cu128")
    assert release is not None
    assert release.cuda_builds == ("12.6", "12.8", "13.0")
    assert release.python_range == ("3.10", "3.14")
    assert release.pypi_default_cuda == "12.8"
    assert "2.9.0-cuda12.8-cudnn9-runtime" in matrix.image_tags("2.9.0")
    assert not any("cuda11.8" in t for t in matrix.image_tags("2.9.0"))
    assert matrix.image_tags("2.7.1", cuda="11.8", flavor="devel") == [
        "2.7.1-cuda11.8-cudnn9-devel"
    ]
    assert matrix.release("2.3.1").cudnn_major == 8  # type: ignore[union-attr]
    assert matrix.min_driver("12.8") == "525.60.13"
    assert matrix.toolkit_driver("12.8") == "570.26"
    assert matrix.release("2.6.0").conda_pytorch_cuda == ()  # type: ignore[union-attr]
    assert matrix.release("2.5.1").conda_pytorch_cuda == ("11.8", "12.1", "12.4")  # type: ignore[union-attr]


def test_a_newer_torch_is_reported_as_newer_than_the_data() -> None:
    matrix = load_matrix()
    assert matrix.release("2.16.0") is None
    assert matrix.is_newer_than_data("2.16.0")
    assert not matrix.is_newer_than_data("1.12.0")
    message = matrix.newer_than_data_message("2.16.0")
    assert message.startswith(
        f"torch 2.16.0 is newer than torchlane's compatibility data (up to {matrix.newest.minor}); update torchlane"
    )


def test_every_cuda_build_has_driver_data_and_closest_cuda_prefers_the_nearest() -> None:
    matrix = load_matrix()
    for release in matrix.releases.values():
        for cuda in release.cuda_builds:
            assert matrix.min_driver(cuda) is not None
    assert matrix.release("2.9.0").closest_cuda("12.9")[:2] == ["12.8", "12.6"]  # type: ignore[union-attr]
    assert matrix.release("2.9.0").closest_cuda("11.8")[0] == "12.6"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.9.0", ((2, 9, 0), None)), ("2.9.0+cu128", ((2, 9, 0), "cu128")), ("2.9", ((2, 9, 0), None)),
     ("2.10.0rc1", ((2, 10, 0), None)), ("banana", None)],
)  # fmt: skip
def test_parse_version(text: str, expected: object) -> None:
    assert parse_version(text) == expected
