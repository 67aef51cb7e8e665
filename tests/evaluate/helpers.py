"""Helpers for the evaluation tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomlkit


def write_eval_config(root: Path, **settings: Any) -> None:
    """Set keys of [tool.torchlane.eval] in root/pyproject.toml; a value of None removes it."""
    path = root / "pyproject.toml"
    document = tomlkit.parse(path.read_text("utf-8"))
    section: Any = document["tool"]["torchlane"]["eval"]
    for key, value in settings.items():
        if value is None:
            section.pop(key, None)
        else:
            section[key] = value
    path.write_text(tomlkit.dumps(document), encoding="utf-8")


# Clean under the sample's lint stage (ruff's defaults): the CI tests commit it.
FETCH_SCRIPT = """import shutil
from pathlib import Path

Path("checkpoints").mkdir(exist_ok=True)
shutil.copy({source!r}, "checkpoints/model.pt")
print("fetched the weights")
"""


def evaluate_in(root: Path, state_dir: Path, **kwargs: Any) -> Any:
    """evaluate_checkout with the configuration in root/pyproject.toml."""
    from torchlane.config.load import load_config
    from torchlane.evaluate.run import evaluate_checkout

    return evaluate_checkout(root, load_config(root).config.eval, state_dir, **kwargs)


@contextmanager
def sample_training(root: Path) -> Iterator[Callable[..., Path]]:
    """The sample's train() imported from `root`; torch's global deterministic mode, which the
    sample's training switches on, is put back afterwards so other tests are not affected."""
    import torch

    from torchlane.evaluate.project_code import ProjectImporter

    was = torch.are_deterministic_algorithms_enabled()
    try:
        with ProjectImporter(root).imported_from() as project:
            yield project.resolve("train:train", "train")
    finally:
        torch.use_deterministic_algorithms(was)
