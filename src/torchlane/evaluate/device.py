"""Choosing the device and the autocast context for an evaluation."""

from __future__ import annotations

import contextlib
from typing import Any

from torchlane.errors import TorchlaneError


def resolve_device(requested: str) -> str:
    """'auto' picks cuda, then mps, then cpu. An explicit device that is missing is an error."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    kind, _, index = requested.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise TorchlaneError(
                f"The device '{requested}' was asked for, but this torch ({torch.__version__}) "
                "sees no CUDA GPU.",
                "Use --device cpu, or install a CUDA build of torch on a machine with a GPU.",
            )
        if index and int(index) >= torch.cuda.device_count():
            raise TorchlaneError(
                f"The device '{requested}' does not exist: {torch.cuda.device_count()} GPU(s).",
                "Pick another index, or --device cuda.",
            )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise TorchlaneError(
            "The device 'mps' was asked for, but Metal is not available here.",
            "Use --device cpu.",
        )
    return requested


def device_name(device: str) -> str:
    """The hardware's name: different GPUs can give different numerics, so caches keep it."""
    import platform

    import torch

    if device.startswith("cuda"):
        return str(torch.cuda.get_device_name(torch.device(device)))
    return platform.machine()


def autocast_context(device: str, dtype_name: str) -> contextlib.AbstractContextManager[Any]:
    import torch

    if dtype_name == "off":
        return contextlib.nullcontext()
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}[dtype_name]
    context: contextlib.AbstractContextManager[Any] = torch.autocast(
        device_type=device.partition(":")[0], dtype=dtype
    )
    return context
