"""Metrics for torchlane's ready harness: each takes (logits, labels) for the validation set."""

from __future__ import annotations

import torch


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float((outputs.argmax(dim=1) == targets).float().mean())


def macro_f1(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    predictions = outputs.argmax(dim=1)
    scores = []
    for label in torch.unique(targets):
        true_positive = ((predictions == label) & (targets == label)).sum().item()
        predicted = (predictions == label).sum().item()
        actual = (targets == label).sum().item()
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / actual
        scores.append(2 * precision * recall / (precision + recall) if true_positive else 0.0)
    return sum(scores) / len(scores)
