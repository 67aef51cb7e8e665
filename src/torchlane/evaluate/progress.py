"""A progress bar on stderr while the validation loop runs, only when stderr is a terminal.

The bar appears at the first batch, not before: the checkpoint command (training, `dvc pull`)
runs first and is not part of it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torchlane.evaluate.types import Progress


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress | None]:
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int | None) -> None:
        if "bar" not in state:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            from torchlane.render import console

            bar = Progress(
                "evaluating",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("evaluating", total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
