"""Metrics for torchlane's ready harness: each takes (logits, labels) for the validation set."""

from __future__ import annotations

import torch


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((outputs.argmax(dim=1) == targets).float().mean())


def macro_f1(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """The mean F1 over the classes present in `targets` (sklearn's average="macro")."""
    predictions = outputs.argmax(dim=1)
    classes = outputs.shape[1]
    true_positive = torch.bincount(targets[predictions == targets], minlength=classes)
    predicted = torch.bincount(predictions, minlength=classes)
    actual = torch.bincount(targets, minlength=classes)
    # F1 = 2PR / (P + R) = 2 TP / (predicted + actual); 0 for a class never predicted right
    f1 = torch.where(
        true_positive > 0, 2 * true_positive.double() / (predicted + actual).clamp(min=1), 0.0
    )
    return float(f1[actual > 0].mean())
