"""Varied notebooks for the tests: what Jupyter writes after a real session (outputs of every
type, execution counts, widget state, volatile cell metadata, keep_output cells, unicode)."""

from __future__ import annotations

import base64
import json
from typing import Any

PNG = base64.b64encode(bytes(range(256)) * 4).decode("ascii")


def lines(text: str) -> list[str]:
    return text.splitlines(True)


def code_cell(
    source: str | list[str],
    outputs: list[dict[str, Any]] | None = None,
    count: int | None = 1,
    metadata: dict[str, Any] | None = None,
    cell_id: str | None = None,
) -> dict[str, Any]:
    cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": count,
        "metadata": metadata or {},
        "outputs": outputs or [],
        "source": lines(source) if isinstance(source, str) else source,
    }
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def markdown_cell(source: str, cell_id: str | None = None, **metadata: Any) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": "markdown", "metadata": metadata, "source": lines(source)}
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"name": name, "output_type": "stream", "text": lines(text)}


def result(text: str, count: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "data": {"text/plain": lines(text), **extra},
        "execution_count": count,
        "metadata": {},
        "output_type": "execute_result",
    }


def display(**data: Any) -> dict[str, Any]:
    return {"data": data, "metadata": {}, "output_type": "display_data"}


def error(name: str, value: str) -> dict[str, Any]:
    return {
        "ename": name,
        "evalue": value,
        "output_type": "error",
        "traceback": [f"\x1b[0;31m{name}\x1b[0m: {value}"],
    }


def notebook(cells: list[dict[str, Any]], minor: int = 5, **metadata: Any) -> dict[str, Any]:
    base = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.7"},
    }
    return {
        "cells": cells,
        "metadata": {**base, **metadata},
        "nbformat": 4,
        "nbformat_minor": minor,
    }


def session_notebook(minor: int = 5) -> dict[str, Any]:
    """A notebook after a training session: every kind of output and volatile metadata."""
    with_ids = minor >= 5
    cells = [
        markdown_cell(
            "# Training run ✓\nLoss curves — ünïcödé, 日本語, emoji 🚀",
            "intro" if with_ids else None,
        ),
        code_cell(
            "%matplotlib inline\nimport torch\nprint('hello')",
            [stream("hello\n"), stream("warning: slow\n", "stderr")],
            count=3,
            metadata={"ExecuteTime": {"end_time": "2024-01-01T00:00:00"}, "scrolled": True},
            cell_id="a1b2c3" if with_ids else None,
        ),
        code_cell(
            "x = 1 + 1\nx",
            [result("2", 4, **{"text/html": ["<b>2</b>\n", "<i>two</i>"]})],
            count=4,
            metadata={"collapsed": False, "execution": {"iopub.status.busy": "2024"}},
            cell_id="d4e5f6" if with_ids else None,
        ),
        code_cell(
            "plot()",
            [display(**{"image/png": PNG, "text/plain": ["<Figure>"]})],
            count=5,
            metadata={"tags": ["keep_output"]},
            cell_id="g7h8i9" if with_ids else None,
        ),
        code_cell(
            "1 / 0",
            [error("ZeroDivisionError", "division by zero")],
            count=6,
            metadata={"keep_output": True, "hidden": True},
            cell_id="j0k1l2" if with_ids else None,
        ),
        code_cell(
            "widget",
            [
                display(
                    **{
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": "abc",
                            "version_major": 2,
                        },
                        "text/plain": "IntSlider(value=3)",
                    }
                )
            ],
            count=7,
            metadata={"heading_collapsed": True, "tags": ["parameters"]},
            cell_id="m3n4o5" if with_ids else None,
        ),
        code_cell("   \n", [], count=None, cell_id="empty1" if with_ids else None),
        markdown_cell("", "empty2" if with_ids else None),
        code_cell(
            ["a = 'line one'\n", "b = 'no newline'", "\n", "c = 'carriage\\r'\n"],
            [stream("progress\r10%\r100%\n")],
            count=8,
            cell_id="p6q7r8" if with_ids else None,
        ),
    ]
    return notebook(
        cells,
        minor,
        widgets={"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}},
        signature="sha256:deadbeef",
        custom={"keep": True, "drop": {"nested": 1}},
    )


def dump(nb: dict[str, Any], indent: int | None = 1) -> str:
    return json.dumps(nb, indent=indent, sort_keys=indent == 1, ensure_ascii=False) + "\n"
