"""torchlane is a real distribution: `python -m build` makes an sdist and a wheel (the wheel built
from the sdist, so the sdist is complete), `twine check` accepts both, and the wheel installs into
a fresh virtual environment, not editable, where `torchlane --version` runs.

The fresh environment gets its dependencies (click, pydantic, ...) by seeing this environment's
site-packages through a path file, not from an index: no network, seconds instead of a download,
and the same versions constraints.txt pins. Path files added that way are not processed, so this
environment's editable torchlane stays invisible there; the test checks that the torchlane it
imports is the one the wheel installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import torchlane

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    # Nothing of this checkout may leak in: the fresh environment must find only the wheel.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_built_distribution_installs_and_runs_in_a_fresh_environment(tmp_path: Path) -> None:
    # Build from a copy of the tracked files, as a release checkout would have them.
    source = tmp_path / "source"
    files = _run("git", "ls-files", "-z", cwd=ROOT).split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    # --no-isolation: the build backend (setuptools, wheel) comes from this pinned environment
    # instead of a download.
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source)
    sdists = list(dist.glob("torchlane-*.tar.gz"))
    wheels = list(dist.glob("torchlane-*-py3-none-any.whl"))
    assert len(sdists) == 1, list(dist.iterdir())
    assert len(wheels) == 1, list(dist.iterdir())
    assert f"-{torchlane.__version__}" in wheels[0].name
    _run(sys.executable, "-m", "twine", "check", "--strict", *sdists, *wheels)

    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(python, "-m", "pip", "install", "--quiet", "--no-index", wheels[0])
    assert "editable" not in _run(python, "-m", "pip", "show", "--files", "torchlane").lower()
    located = _run(python, "-c", "import torchlane; print(torchlane.__file__)").strip()
    assert Path(located).is_relative_to(fresh), located
    version = _run(fresh / "bin" / "torchlane", "--version", cwd=tmp_path)
    assert version.strip() == f"torchlane, version {torchlane.__version__}"
    # The package data came along: the PyTorch/CUDA matrix and the demo's sample project.
    data = "import importlib.resources as r; assert r.files('torchlane.env').joinpath('matrix.json').is_file()"
    _run(python, "-c", data)
