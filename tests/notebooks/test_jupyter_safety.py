"""`torchlane jupyter` never opens up: every spelling is checked, weak tokens are refused, a
non-local address is a decision, and a real jupyter_server answers 403 without the token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import torchlane
from torchlane.errors import TorchlaneError
from torchlane.notebooks.jupyter import (
    JupyterLaunch,
    find_executable,
    plan_launch,
    reach,
    token_weakness,
    trait_name,
)

STRONG = "9f1c2e7a4b8d0e3f6a5c1b9d7e2f4a8c0b6d3e1f5a7c9b2d"  # torchlane: allow-secret


def plan(environ: dict[str, str], **kwargs: Any) -> JupyterLaunch:
    defaults: dict[str, Any] = {"ip": None, "port": 8888, "extra_args": [], "executable": "jl"}
    return plan_launch("lab", environ=environ, **{**defaults, **kwargs})


@pytest.mark.parametrize(
    "args",
    [
        ["-IdentityProvider.token="],
        ["--IdentityProvider.token="],
        ["--ServerApp.token=abc"],
        ["--ServerApp.token", "abc"],
        ["--NotebookApp.token=abc"],
        ["-NotebookApp.password=x"],
        ["--PasswordIdentityProvider.hashed_password=argon2:x"],
        ["--PasswordIdentityProvider.hashed-password=argon2:x"],
        ["-ServerApp.ip=0.0.0.0"],
        ["--ServerApp.ip", "0.0.0.0"],
        ["--ip=0.0.0.0"],
        ["--ip", "0"],
        ["-ip=0"],
        ["--NotebookApp.ip=0.0.0.0"],
        ["--port=9999"],
        ["--ServerApp.allow_origin=*"],
        ["-ServerApp.allow-origin=*"],
        ["--ServerApp.allow_origin_pat=.*"],
        ["--NotebookApp.allow_origin", "*"],
        ["--ServerApp.allow_remote_access=True"],
        ["--ServerApp.disable_check_xsrf=True"],
        ["--no-browser", "-ServerApp.ip=::"],
    ],
)
def test_every_spelling_of_token_password_ip_and_origin_is_refused(tmp_path, args) -> None:
    with pytest.raises(TorchlaneError) as caught:
        plan({"HOME": str(tmp_path), "JUPYTER_TOKEN": STRONG}, extra_args=args)
    assert caught.value.exit_code == 2


def test_harmless_arguments_pass_through(tmp_path) -> None:
    args = ["--no-browser", "--ServerApp.root_dir=/data", "--debug", "notebooks/"]
    launch = plan({"HOME": str(tmp_path), "JUPYTER_TOKEN": STRONG}, extra_args=args)
    assert launch.argv[-4:] == args


@given(
    dashes=st.sampled_from(["-", "--"]),
    klass=st.sampled_from(["", "ServerApp.", "NotebookApp.", "IdentityProvider.", "X.Y."]),
    trait=st.sampled_from(["token", "password", "ip", "allow_origin", "allow-origin", "IP"]),
    value=st.one_of(st.none(), st.text(max_size=10)),
)
def test_trait_name_reads_every_traitlets_form(dashes, klass, trait, value) -> None:
    arg = f"{dashes}{klass}{trait}" + ("" if value is None else f"={value}")
    assert trait_name(arg) == trait.lower().replace("-", "_")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (" ", "1 characters"),
        ("a", "1 characters"),
        ("abc123def456", "12 characters"),
        ("a" * 64, "repeat too much"),
        ("ab" * 32, "repeat too much"),
        ("0123" * 10, "repeat too much"),
    ],
)
def test_short_or_low_entropy_tokens_are_refused(tmp_path, token, why) -> None:
    assert token_weakness(token) is not None
    with pytest.raises(TorchlaneError, match=why) as caught:
        plan({"HOME": str(tmp_path), "JUPYTER_TOKEN": token})
    assert caught.value.hint is not None
    assert "secrets.token_hex" in caught.value.hint


def test_a_weak_token_file_is_refused(tmp_path) -> None:
    weak = tmp_path / "token"
    weak.write_text("password", encoding="utf-8")
    weak.chmod(0o600)
    with pytest.raises(TorchlaneError, match="too weak"):
        plan({"HOME": str(tmp_path), "JUPYTER_TOKEN_FILE": str(weak)})


@given(st.binary(min_size=24, max_size=48))
def test_generated_style_tokens_are_strong(raw: bytes) -> None:
    from hypothesis import assume

    assume(len(set(raw)) > len(raw) // 2)
    assert token_weakness(raw.hex()) is None


@pytest.mark.parametrize(
    ("host", "scope"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("localhost", "loopback"),
        ("::1", "loopback"),
        ("127.1", "loopback"),
        ("0.0.0.0", "all"),
        ("0", "all"),
        ("::", "all"),
        ("", "all"),
        ("*", "all"),
        ("10.1.2.3", "network"),
        ("gpu-box.lab", "network"),
    ],
)
def test_reach_of_an_address(host: str, scope: str) -> None:
    assert reach(host) == scope


@pytest.mark.parametrize("ip", ["0", "0.0.0.0", "10.1.2.3", "::"])
def test_listening_beyond_loopback_needs_allow_remote_and_says_who(tmp_path, ip) -> None:
    environ = {"HOME": str(tmp_path), "JUPYTER_TOKEN": STRONG}
    with pytest.raises(TorchlaneError, match="--allow-remote") as caught:
        plan(environ, ip=ip)
    assert "every machine" in caught.value.message
    launch = plan(environ, ip=ip, allow_remote=True)
    assert "every machine" in launch.warnings[0]
    assert launch.warnings[0].startswith("WARNING")


def test_the_cli_refuses_a_one_dash_ip_before_the_separator_too(tmp_path) -> None:
    env = {**os.environ, "JUPYTER_TOKEN": STRONG, "PYTHONPATH": _source()}
    for argv in (["-ServerApp.ip=0.0.0.0"], ["--", "-IdentityProvider.token="]):
        result = subprocess.run(
            [sys.executable, "-m", "torchlane", "jupyter", "server", *argv],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "Jupyter will be at" not in result.stdout


def _source() -> str:
    return str(Path(torchlane.__file__).resolve().parent.parent)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(url: str, token: str | None) -> int:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


@pytest.mark.slow
def test_a_real_jupyter_server_demands_the_token_that_is_in_no_argv_or_log(tmp_path) -> None:
    try:
        find_executable("server", os.environ)
    except TorchlaneError as missing:
        pytest.skip(f"jupyter_server is not installed: {missing.message}")
    port = _free_port()
    state = tmp_path / "state"
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_TOKEN")}
    env.update(
        XDG_STATE_HOME=str(state),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        PYTHONPATH=_source(),
    )
    command = [sys.executable, "-m", "torchlane", "jupyter", "server", "--port", str(port),
               "--", "--no-browser", f"--ServerApp.root_dir={tmp_path}"]  # fmt: skip
    if os.geteuid() == 0:  # CI containers run as root; jupyter_server refuses that by default
        command.append("--allow-root")
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/api/status"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, log.read_text(errors="replace")
        token = (state / "torchlane" / "jupyter-token").read_text(encoding="utf-8")
        assert token_weakness(token) is None
        assert _status(url, None) == 403
        assert _status(url, "not-the-token-" + token[:8]) == 403
        assert _status(url, token) == 200
        # torchlane exec'd the server: same process, whose argv and environment lack the token.
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert b"jupyter-server" in cmdline or b"jupyter_server" in cmdline
        assert token.encode() not in cmdline
        assert token.encode() not in Path(f"/proc/{server.pid}/environ").read_bytes()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    written = log.read_text(encoding="utf-8", errors="replace")
    assert f"http://127.0.0.1:{port}/" in written
    assert token not in written
