"""Train the classifier for a few epochs on the CPU and write checkpoints/model.pt."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from data import train_loader
from model import build_model

EPOCHS = 8
LEARNING_RATE = 0.01
SEED = 0
CHECKPOINT = Path("checkpoints/model.pt")


def train(checkpoint: Path = CHECKPOINT, epochs: int = EPOCHS, seed: int = SEED) -> Path:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_function = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for images, labels in train_loader(seed=seed):
            optimizer.zero_grad()
            loss = loss_function(model(images), labels)
            loss.backward()
            optimizer.step()
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), checkpoint)
    return checkpoint


if __name__ == "__main__":
    print(f"wrote {train()}")
