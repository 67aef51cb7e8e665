"""`env lock`: pip-compile --generate-hashes on a tiny file from the local package index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def _wheel(directory: Path, name: str, version: str) -> Path:
    """A real (empty) wheel: enough for pip-compile to resolve and hash it."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-{version}.dist-info"
    files = {
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def digest(text: str) -> str:
        raw = hashlib.sha256(text.encode()).digest()
        return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    record = "".join(
        f"{path},{digest(text)},{len(text.encode())}\n" for path, text in files.items()
    )
    files[f"{dist}/RECORD"] = record + f"{dist}/RECORD,,\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name_in_zip, text in files.items():
            wheel.writestr(name_in_zip, text)
    return path


@pytest.mark.slow
def test_a_local_version_found_through_pip_config_gets_its_index_in_the_lock(
    repo: Repo, cli, tmp_path: Path, monkeypatch
) -> None:
    """pip-compile finds torch==2.13.0+cpu through this machine's pip settings (here
    PIP_FIND_LINKS, as a pip.conf extra-index-url would), which the lock does not carry: the lock
    records the index the image's `pip install -r` needs, and `env check` is satisfied."""
    _wheel(tmp_path / "wheels", "torch", "2.13.0+cpu")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    repo.write("pyproject.toml", DECLARATION.format(python=PYTHON))
    repo.write("requirements.in", "torch==2.13.0+cpu\n")
    result = cli(["env", "lock", "-C", str(repo.root)])
    assert result.code == 0, result.err
    text = (repo.root / "requirements.lock").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu\n" in text
    assert str(tmp_path) not in text
    (torch,) = parse_requirements(text).requirements
    assert torch.version == "2.13.0+cpu"
    repo.commit()
    assert "index-missing" not in repo.rules()


def test_a_local_version_no_known_index_serves_is_refused(
    repo: Repo, cli, tmp_path: Path, monkeypatch
) -> None:
    _wheel(tmp_path / "wheels", "six", "1.16.0+internal")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    repo.write("pyproject.toml", DECLARATION.format(python=PYTHON))
    repo.write("requirements.in", "six==1.16.0+internal\n")
    result = cli(["env", "lock", "-C", str(repo.root)])
    assert result.code == 1
    assert "six==1.16.0+internal" in result.err
    assert "--extra-index-url" in result.err
    assert not (repo.root / "requirements.lock").exists()


LOCK = (
    "# made by hand\n"
    "torch==2.13.0+cpu \\\n    --hash=sha256:" + "0" * 64 + "\n"
    "six==1.16.0 \\\n    --hash=sha256:" + "1" * 64 + "\n"
)


def test_check_flags_a_lock_the_image_cannot_install(repo: Repo) -> None:
    repo.commit(**{"requirements.lock": LOCK})
    (finding,) = repo.rules()["index-missing"]
    assert finding["severity"] == "error"
    assert finding["line"] == 2
    assert "torch==2.13.0+cpu" in finding["message"]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in finding["fix"]


@pytest.mark.parametrize(
    ("index", "flagged"),
    [
        ("--extra-index-url https://download.pytorch.org/whl/cpu\n", False),
        ("--index-url https://download.pytorch.org/whl/cpu\n", False),
        ("--extra-index-url https://mirror.example.com/simple\n", False),  # a mirror may serve it
        ("--extra-index-url https://download.pytorch.org/whl/cu128\n", True),  # the wrong build
        ("--index-url https://pypi.org/simple\n", True),
    ],
)
def test_the_index_line_must_serve_the_local_version(repo: Repo, index: str, flagged: bool) -> None:
    repo.commit(**{"requirements.lock": index + LOCK})
    assert ("index-missing" in repo.rules()) is flagged
