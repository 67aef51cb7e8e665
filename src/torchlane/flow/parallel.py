"""git work split across cores: one thread per piece, each waiting on its own git process (the
GIL is free meanwhile), so threads suffice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def in_pieces(
    items: Sequence[Item],
    cores: int,
    minimum: int,
    work: Callable[[Sequence[Item]], Result],
) -> list[Result]:
    """`work` on contiguous pieces of `items`, one per core, each at least `minimum` items long
    (fewer are not worth another git process); a single piece runs in this thread."""
    pieces = max(1, min(cores, len(items) // minimum))
    if pieces == 1:
        return [work(items)]
    size = -(-len(items) // pieces)
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        return list(pool.map(work, chunks))
