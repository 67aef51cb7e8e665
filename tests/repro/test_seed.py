"""seed_everything and the DataLoader helpers, on real torch (CPU)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import torchlane
from torchlane.errors import TorchlaneError


@pytest.fixture(autouse=True)
def restore_global_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """seed_everything changes process-wide switches; other tests must not inherit them."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    yield
    torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2:]


def draw() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.rand()), torch.randn(4, 4) @ torch.randn(4, 4)


def test_same_seed_gives_identical_tensors_and_numbers() -> None:
    torchlane.seed_everything(1234)
    first = draw()
    torchlane.seed_everything(1234)
    second = draw()
    torchlane.seed_everything(4321)
    other = draw()
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2])
    assert not torch.equal(first[2], other[2])


def test_report_says_what_was_set() -> None:
    report = torchlane.seed_everything(7, warn_only=True)
    assert report.seed == 7
    assert (report.python_random, report.numpy, report.torch) == (True, True, True)
    assert report.deterministic_algorithms is True
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert (report.cudnn_deterministic, report.cudnn_benchmark) == (True, False)
    assert torch.backends.cudnn.deterministic
    assert not torch.backends.cudnn.benchmark
    assert report.cublas_workspace_config == ":4096:8"
    assert report.cublas_workspace_config_set
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert report.cuda_devices == torch.cuda.device_count()


def test_existing_cublas_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    report = torchlane.seed_everything(7)
    assert report.cublas_workspace_config == ":16:8"
    assert not report.cublas_workspace_config_set


def test_without_determinism_only_seeds() -> None:
    torch.use_deterministic_algorithms(False)
    report = torchlane.seed_everything(7, deterministic=False)
    assert report.deterministic_algorithms is None
    assert not torch.are_deterministic_algorithms_enabled()
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


def test_pythonhashseed_cannot_change_a_running_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    report = torchlane.seed_everything(5)
    assert report.pythonhashseed is None
    assert any("cannot be changed while it runs" in note for note in report.notes)
    monkeypatch.setenv("PYTHONHASHSEED", "5")
    assert torchlane.seed_everything(5).notes == []


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_bad_seeds_are_refused(seed: object) -> None:
    with pytest.raises(TorchlaneError, match="not an integer between 0"):
        torchlane.seed_everything(seed)  # type: ignore[arg-type]


class Noisy(Dataset[tuple[int, float, float]]):
    """Each item draws from Python's and NumPy's generators, like a random augmentation."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[int, float, float]:
        return index, random.random(), float(np.random.rand())


def load_all(seed: int) -> list[list[float]]:
    loader = DataLoader(
        Noisy(),
        batch_size=2,
        shuffle=True,
        num_workers=2,
        worker_init_fn=torchlane.seed_worker,
        generator=torchlane.seeded_generator(seed),
        multiprocessing_context="fork",
    )
    return [[float(v) for column in batch for v in column] for batch in loader]


def test_dataloader_workers_repeat_with_the_same_seed() -> None:
    first, second, other = load_all(11), load_all(11), load_all(12)
    assert first == second
    assert first != other
    draws = [row[4:] for row in first]  # the random draws, batch by batch
    assert len({tuple(row) for row in draws}) == len(draws)  # no two workers draw alike


def test_import_torchlane_stays_cheap() -> None:
    code = "import sys, torchlane; print('torchlane.repro.seed' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
