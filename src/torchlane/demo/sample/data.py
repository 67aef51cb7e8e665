"""scikit-learn's bundled digits (no download): a fixed split, preprocessing, DataLoaders."""

from __future__ import annotations

import functools
import hashlib

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

SPLIT_SEED = 0
VALIDATION_FRACTION = 0.25
PIXEL_MAX = 16.0  # digits pixels are 0..16


def preprocess(images: np.ndarray) -> torch.Tensor:
    """Scale pixels to [0, 1]."""
    return torch.from_numpy(images.astype(np.float32) / PIXEL_MAX)


@functools.cache
def _split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    order = np.random.RandomState(SPLIT_SEED).permutation(len(digits.target))
    cut = int(len(order) * (1 - VALIDATION_FRACTION))
    return digits.data, digits.target, order[:cut], order[cut:]


def train_loader(batch_size: int = 64, seed: int = 0) -> DataLoader:
    images, labels, train_ids, _ = _split()
    dataset = TensorDataset(preprocess(images[train_ids]), torch.from_numpy(labels[train_ids]))
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)


def validation_loader(batch_size: int = 256) -> DataLoader:
    """Batches of (pixels, label, example id); the id is the image's index in the data set."""
    images, labels, _, validation_ids = _split()
    dataset = TensorDataset(
        preprocess(images[validation_ids]),
        torch.from_numpy(labels[validation_ids]),
        torch.from_numpy(validation_ids),
    )
    return DataLoader(dataset, batch_size=batch_size, shuffle=False)


def fingerprint() -> str:
    """Identifies the raw validation examples (the evaluation cache's data key)."""
    images, labels, _, validation_ids = _split()
    digest = hashlib.sha256(images[validation_ids].tobytes())
    digest.update(labels[validation_ids].tobytes())
    return digest.hexdigest()
