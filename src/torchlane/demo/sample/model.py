"""The digits classifier: a small MLP over 8x8 images."""

from __future__ import annotations

import torch
from torch import nn

HIDDEN_UNITS = 16
N_PIXELS = 64
N_CLASSES = 10


def build_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(N_PIXELS, HIDDEN_UNITS),
        nn.ReLU(),
        nn.Linear(HIDDEN_UNITS, N_CLASSES),
    )


def count_parameters(model: nn.Module) -> int:
    return sum(int(torch.numel(p)) for p in model.parameters())
