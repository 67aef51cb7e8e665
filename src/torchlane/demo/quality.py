"""The bundled digits classifier (demo/sample/) and the changes the demo makes to it.

copy_sample_project   the classifier, its evaluation and gate settings   (94.9% accuracy)
widen_model           64 hidden units, 20 epochs                         (98.0%)
break_preprocessing   pixels divided by 255, not 16, on the wider model  (94.7%)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit

from torchlane.config.source import FALLBACK_FILE, find_config_source
from torchlane.metrics.store import read_records

if TYPE_CHECKING:
    from torchlane.demo.story import Story

SAMPLE_DIR = Path(__file__).parent / "sample"
SAMPLE_CODE = ("model.py", "data.py", "train.py", "evaluate.py")


def copy_sample_project(repo: Path) -> list[str]:
    """Copy the sample's code into `repo`, and merge its settings into pyproject.toml and
    .gitignore (keeping whatever is there, e.g. `torchlane init`'s settings). Returns the paths."""
    for name in SAMPLE_CODE:
        (repo / name).write_text((SAMPLE_DIR / name).read_text("utf-8"), encoding="utf-8")
    ignore = repo / ".gitignore"
    lines = ignore.read_text("utf-8").splitlines() if ignore.exists() else []
    lines += [
        x for x in (SAMPLE_DIR / "gitignore").read_text("utf-8").splitlines() if x not in lines
    ]
    ignore.write_text("\n".join(lines) + "\n", encoding="utf-8")

    sample = tomlkit.parse((SAMPLE_DIR / "pyproject.toml").read_text("utf-8"))
    # The sample's [tool.torchlane] sections (eval, gate) join whatever settings are there.
    sections = dict(sample["tool"]["torchlane"].items())
    pyproject = repo / "pyproject.toml"
    exists = pyproject.exists()
    document = tomlkit.parse(pyproject.read_text("utf-8")) if exists else tomlkit.document()
    if "project" not in document:
        # The sample's project, and what makes it installable (CI runs `pip install -e .[dev]`).
        document["project"] = sample["project"]
        document.setdefault("build-system", sample["build-system"])
        if "setuptools" not in document.get("tool", {}):
            tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
            tool["setuptools"] = sample["tool"]["setuptools"]
    written = [*SAMPLE_CODE, ".gitignore", "pyproject.toml"]
    config_path, _, _ = find_config_source(repo)
    if config_path is not None and config_path.name == FALLBACK_FILE:
        # `torchlane init` kept the settings in .torchlane.toml: the eval section goes there.
        settings = tomlkit.parse(config_path.read_text("utf-8"))
        for key, value in sections.items():
            settings[key] = value
        config_path.write_text(tomlkit.dumps(settings), encoding="utf-8")
        written.append(FALLBACK_FILE)
    else:
        tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
        torchlane = tool.setdefault("torchlane", tomlkit.table(is_super_table=True))
        for key, value in sections.items():
            torchlane[key] = value
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")
    return written


def _set_constant(path: Path, name: str, value: str) -> None:
    text = path.read_text("utf-8")
    changed, count = re.subn(rf"^{name} = .*$", f"{name} = {value}", text, flags=re.MULTILINE)
    if count != 1:
        raise RuntimeError(f"demo: {path.name} has no line `{name} = ...`")
    path.write_text(changed, encoding="utf-8")


def widen_model(repo: Path) -> list[str]:
    """The improving change: more hidden units, trained for more epochs."""
    _set_constant(repo / "model.py", "HIDDEN_UNITS", "64")
    _set_constant(repo / "train.py", "EPOCHS", "20")
    return ["model.py", "train.py"]


PREPROCESSING_BUG = (
    "The bug: data.py now divides pixels by 255 as if they were 8-bit, but the digits data set's "
    "pixels only go up to 16, so the model sees inputs squeezed into [0, 0.063]."
)


def break_preprocessing(repo: Path) -> list[str]:
    """The breaking change: scaling as if pixels were 8-bit (0..255); digits pixels are 0..16."""
    _set_constant(repo / "data.py", "PIXEL_MAX", "255.0  # 8-bit images")
    return ["data.py"]


def accuracy(story: Story, rev: str = "HEAD") -> float:
    records = read_records(story.git, rev).records
    return records[-1].metrics["accuracy"] if records else float("nan")
