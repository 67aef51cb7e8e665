"""`torchlane jupyter`: the launch plan, the private token file, refusals, and the real exec."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.secrets import cli_env
from torchlane.errors import TorchlaneError
from torchlane.notebooks.jupyter import (
    NO_AUTH_ARGUMENT,
    JupyterLaunch,
    find_executable,
    plan_launch,
    private_token,
    token_file_path,
)

USER_TOKEN = "9f1c2e7a4b8d0e3f6a5c1b9d7e2f4a8c0b6d3e1f5a7c9b2d"  # torchlane: allow-secret


def plan(environ: dict[str, str], **kwargs: Any) -> JupyterLaunch:
    defaults: dict[str, Any] = {"ip": None, "port": 8888, "extra_args": [], "executable": "jl"}
    return plan_launch("lab", environ=environ, **{**defaults, **kwargs})


def test_generated_token_lives_in_a_private_file_not_the_command_line(tmp_path: Path) -> None:
    environ = {"XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin"}
    launch = plan(environ)
    token_file = tmp_path / "state" / "torchlane" / "jupyter-token"
    token = token_file.read_text(encoding="utf-8")
    assert len(token) == 48
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert launch.argv == [
        "jl", "--ip=127.0.0.1", "--port=8888", "--ServerApp.port_retries=0"
    ]  # fmt: skip
    assert launch.env["JUPYTER_TOKEN_FILE"] == str(token_file)
    assert "JUPYTER_TOKEN" not in launch.env
    assert launch.url == f"http://127.0.0.1:8888/lab?token={token}"
    assert plan(environ).url == launch.url  # the token is kept
    renewed = plan(environ, new_token=True)
    assert renewed.url != launch.url


def test_token_from_the_environment_is_used_as_is(tmp_path: Path) -> None:
    launch = plan({"JUPYTER_TOKEN": USER_TOKEN, "HOME": str(tmp_path)})
    assert launch.token_source == "JUPYTER_TOKEN"
    assert launch.url.endswith(f"?token={USER_TOKEN}")  # torchlane: allow-secret
    assert not token_file_path({"HOME": str(tmp_path)}).exists()
    assert not any(USER_TOKEN in arg for arg in launch.argv)


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    private_token(path)
    path.chmod(0o644)
    with pytest.raises(TorchlaneError, match="can be read by other users") as caught:
        private_token(path)
    assert caught.value.hint is not None
    assert "chmod 600" in caught.value.hint


def test_empty_tokens_and_tokens_on_the_command_line_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TorchlaneError, match="set but empty"):
        plan({"JUPYTER_TOKEN": "", "HOME": str(tmp_path)})
    secret_arguments = [
        NO_AUTH_ARGUMENT,
        "--ServerApp.token=abc",  # torchlane: allow-secret
        "--NotebookApp.password=x",  # torchlane: allow-secret
    ]
    for arg in secret_arguments:
        with pytest.raises(TorchlaneError, match="visible to every user"):
            plan({"HOME": str(tmp_path)}, extra_args=[arg])


def test_no_auth_only_when_asked_and_only_on_localhost(tmp_path: Path) -> None:
    launch = plan({"JUPYTER_TOKEN": USER_TOKEN, "HOME": str(tmp_path)}, insecure_no_auth=True)
    assert NO_AUTH_ARGUMENT in launch.argv
    assert "JUPYTER_TOKEN" not in launch.env
    assert any("authentication is disabled" in w for w in launch.warnings)
    with pytest.raises(TorchlaneError, match=r"only allowed on 127\.0\.0\.1"):
        plan({"HOME": str(tmp_path)}, insecure_no_auth=True, ip="0.0.0.0")


def test_address_options_after_the_separator_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TorchlaneError, match="torchlane's own options") as caught:
        plan({"HOME": str(tmp_path)}, extra_args=["--port=9999"])
    assert caught.value.exit_code == 2


def test_all_interfaces_warns_loudly(tmp_path: Path) -> None:
    launch = plan({"HOME": str(tmp_path)}, ip="0.0.0.0", port=9999, allow_remote=True)
    assert launch.argv[1:3] == ["--ip=0.0.0.0", "--port=9999"]
    assert launch.warnings[0].startswith("WARNING: listening on ALL network interfaces")


def test_jupyter_not_installed_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(TorchlaneError, match="Jupyter Lab is not installed") as caught:
        find_executable("lab", {"PATH": str(tmp_path)})
    assert caught.value.hint is not None
    assert "pip install jupyterlab" in caught.value.hint


def test_the_cli_execs_jupyter_with_the_plan(tmp_path: Path) -> None:
    # A stand-in `jupyter-lab` that reports what it was started with.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "jupyter-lab"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "print(json.dumps({'argv': sys.argv[1:], 'token_file': os.environ.get('JUPYTER_TOKEN_FILE'),"
        " 'token': os.environ.get('JUPYTER_TOKEN')}))\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    env = cli_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env.pop("JUPYTER_TOKEN", None)
    env.pop("JUPYTER_TOKEN_FILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "torchlane", "jupyter", "lab", "--port", "9000", "--", "--no-browser"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    announced, started = result.stdout.strip().splitlines()
    seen = json.loads(started)
    token = Path(seen["token_file"]).read_text(encoding="utf-8")
    # Output that is not a terminal may be a log: the URL comes without the token.
    assert announced == (
        f"Jupyter will be at: http://127.0.0.1:9000/lab (token: in the file {seen['token_file']})"
    )
    assert token not in result.stdout
    assert seen["argv"] == [
        "--ip=127.0.0.1", "--port=9000", "--ServerApp.port_retries=0", "--no-browser"
    ]  # fmt: skip
    assert seen["token"] is None
    assert not any(token in arg for arg in seen["argv"])


def test_the_cli_reports_a_missing_jupyter(tmp_path: Path) -> None:
    env = cli_env(PATH=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "torchlane", "jupyter", "notebook"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Jupyter Notebook is not installed" in result.stderr
    assert "pip install notebook" in result.stderr
