"""Seeding and determinism in one call, following PyTorch's reproducibility notes.

`seed_everything` seeds Python, NumPy (when installed) and torch (CPU and every CUDA device),
turns on deterministic algorithms and the cuDNN flags, and sets CUBLAS_WORKSPACE_CONFIG when it
is unset. It returns what it did, including what it could not do (PYTHONHASHSEED).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

from torchlane.errors import TorchlaneError

CUBLAS_DETERMINISTIC = ":4096:8"
_MAX_SEED = 2**32 - 1  # numpy's legacy seeding takes no more; torch accepts it too


@dataclass(frozen=True, kw_only=True)
class SeedReport:
    seed: int
    python_random: bool
    numpy: bool  # False: numpy is not installed
    torch: bool  # False: torch is not installed
    cuda_devices: int  # CUDA devices seeded (torch.manual_seed seeds them all)
    deterministic_algorithms: bool | None  # None: left as it was (deterministic=False)
    warn_only: bool | None
    cudnn_deterministic: bool | None
    cudnn_benchmark: bool | None
    cublas_workspace_config: str | None
    cublas_workspace_config_set: bool  # True: seed_everything set it (it was unset)
    pythonhashseed: str | None  # PYTHONHASHSEED of this process, as it started
    notes: list[str] = field(default_factory=list)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        raise TorchlaneError(
            f"Seed {seed!r} is not an integer between 0 and {_MAX_SEED}.",
            "Pass a non-negative integer below 2**32, e.g. seed_everything(42).",
        )
    return seed


def _pythonhashseed_note(seed: int) -> tuple[str | None, list[str]]:
    current = os.environ.get("PYTHONHASHSEED")
    if current == str(seed):
        return current, []
    shown = "unset (hash randomisation on)" if current is None else repr(current)
    return current, [
        f"PYTHONHASHSEED is {shown} in this process and cannot be changed while it runs "
        "(str/bytes hashes, hence set iteration order, are fixed at interpreter start); start "
        f"Python with PYTHONHASHSEED={seed} (`torchlane run` does) for the same order everywhere."
    ]


def _seed_numpy(seed: int) -> bool:
    try:
        import numpy
    except ImportError:
        return False
    numpy.random.seed(seed)
    return True


def seed_everything(
    seed: int, deterministic: bool = True, *, warn_only: bool = False
) -> SeedReport:
    """Seed every generator a training script uses; with `deterministic`, ask for determinism.

    `warn_only=True` makes an operation without a deterministic implementation warn instead of
    raising (torch.use_deterministic_algorithms' own switch).
    """
    seed = _check_seed(seed)
    random.seed(seed)
    hashseed, notes = _pythonhashseed_note(seed)
    has_numpy = _seed_numpy(seed)
    try:
        import torch
    except ImportError:
        notes.append("torch is not installed: only Python and NumPy were seeded.")
        return SeedReport(
            seed=seed, python_random=True, numpy=has_numpy, torch=False, cuda_devices=0, deterministic_algorithms=None, warn_only=None, cudnn_deterministic=None, cudnn_benchmark=None,
            cublas_workspace_config=os.environ.get("CUBLAS_WORKSPACE_CONFIG"), cublas_workspace_config_set=False, pythonhashseed=hashseed, notes=notes,
        )  # fmt: skip
    torch.manual_seed(seed)  # seeds the CPU and every CUDA device
    cuda_devices = int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    if not deterministic:
        return SeedReport(
            seed=seed, python_random=True, numpy=has_numpy, torch=True, cuda_devices=cuda_devices, deterministic_algorithms=None, warn_only=None, cudnn_deterministic=None, cudnn_benchmark=None,
            cublas_workspace_config=os.environ.get("CUBLAS_WORKSPACE_CONFIG"), cublas_workspace_config_set=False, pythonhashseed=hashseed, notes=notes,
        )  # fmt: skip
    cublas_set = "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    if cublas_set:
        # cuBLAS reads it when a handle is created; a context already running keeps its setting.
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_DETERMINISTIC
        if cuda_devices and torch.cuda.is_initialized():
            notes.append(
                "CUDA was already initialised: CUBLAS_WORKSPACE_CONFIG applies to cuBLAS "
                "handles created from now on; call seed_everything before any CUDA work."
            )
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return SeedReport(
        seed=seed, python_random=True, numpy=has_numpy, torch=True, cuda_devices=cuda_devices, deterministic_algorithms=True, warn_only=warn_only, cudnn_deterministic=True, cudnn_benchmark=False,
        cublas_workspace_config=os.environ["CUBLAS_WORKSPACE_CONFIG"], cublas_workspace_config_set=cublas_set, pythonhashseed=hashseed, notes=notes,
    )  # fmt: skip


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: seeds Python and NumPy in each worker from torch's seed.

    This is the recipe of PyTorch's reproducibility notes. torch >= 1.9 seeds both itself in
    its workers; the function keeps older torch and custom worker loops equally repeatable,
    with the per-worker seed (base seed + worker id) coming from `seeded_generator`.
    """
    import torch

    worker_seed = int(torch.initial_seed()) % 2**32
    random.seed(worker_seed)
    _seed_numpy(worker_seed)


def seeded_generator(seed: int) -> Any:
    """A `torch.Generator` for DataLoader(generator=...): shuffling and worker seeds follow `seed`."""
    import torch

    generator = torch.Generator()
    generator.manual_seed(_check_seed(seed))
    return generator
