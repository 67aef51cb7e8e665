"""`env lock`: pip-compile --generate-hashes on a tiny file from the local package index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.env.conftest import Repo
from torchlane.env.check.requirements import parse_requirements
from torchlane.env.lock.lockfile import recorded

DECLARATION = '[tool.torchlane.env]\npython = "{python}"\nrequirements = ["requirements.in"]\nlock = "requirements.lock"\n'
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_lock_pins_with_hashes_records_inputs_and_goes_stale(repo: Repo, cli) -> None:
    repo.write("pyproject.toml", DECLARATION.format(python=PYTHON))
    repo.write("requirements.in", "# the one dependency\nsix\n")
    result = cli(["env", "lock", "-C", str(repo.root)])
    assert result.code == 0, result.err
    text = (repo.root / "requirements.lock").read_text()
    parsed = parse_requirements(text)
    (six,) = parsed.requirements
    assert six.name == "six"
    assert six.version
    assert six.hashes
    assert recorded(text) is not None
    assert "/opt/" not in text
    assert "file://" not in text
    repo.commit()
    assert repo.check()[1]["findings"] == []
    repo.commit(**{"requirements.in": "six\npackaging\n"})
    assert [f["rule"] for f in repo.check()[1]["findings"]] == ["lock-stale"]


def test_missing_pip_tools_is_a_clear_error(repo: Repo, cli, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    repo.write("pyproject.toml", DECLARATION.format(python=PYTHON))
    repo.write("requirements.in", "six\n")
    result = cli(["env", "lock", "--python", str(bare / "bin" / "python"), "-C", str(repo.root)])
    assert result.code == 1
    assert "pip-tools is not installed" in result.err
    assert "pip install pip-tools" in result.err
    assert not (repo.root / "requirements.lock").exists()


def test_missing_inputs_are_named(repo: Repo, cli) -> None:
    repo.write("pyproject.toml", DECLARATION.format(python=PYTHON))
    result = cli(["env", "lock", "-C", str(repo.root)])
    assert result.code == 1
    assert "requirements.in" in result.err
    assert "hint:" in result.err
