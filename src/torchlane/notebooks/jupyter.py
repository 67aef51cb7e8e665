"""`torchlane jupyter`: start JupyterLab or Notebook on localhost with a private token.

How the token travels (decided here, documented in docs/hygiene.md): never on the command line,
which every user on the machine can read with `ps`. A token the user set in `JUPYTER_TOKEN`
stays in the environment where they put it. Otherwise torchlane keeps a generated token in a
0600 file under the user's state directory and points jupyter_server at it with
`JUPYTER_TOKEN_FILE`, so the token is in neither the command line nor the environment that
kernels inherit (and that a notebook printing `os.environ` would commit). jupyter_server 2.x
reads `JUPYTER_TOKEN`, then `JUPYTER_TOKEN_FILE`, for `IdentityProvider.token`; the old
`NotebookApp.token` belongs to the pre-7 notebook server and is not used.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torchlane.errors import TorchlaneError, usage_error
from torchlane.leanfs import write_atomic

APPS = {
    "lab": ("jupyter-lab", "jupyterlab", "lab"),
    "notebook": ("jupyter-notebook", "notebook", "tree"),
}
ALL_INTERFACES = frozenset({"0.0.0.0", "::", "*", ""})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# An empty token disables authentication; being empty it is safe on the command line.
NO_AUTH_ARGUMENT = "--IdentityProvider.token="  # torchlane: allow-secret
_ADDRESS_OPTIONS = frozenset({"--ip", "--port", "--ServerApp.ip", "--ServerApp.port"})
_SECRET_OPTIONS = (".token", ".password", ".hashed_password")

# Where the server's token comes from; "none": authentication is off (--insecure-no-auth).
TokenSource = Literal["JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE", "token file", "none"]


@dataclass(frozen=True, kw_only=True)
class JupyterLaunch:
    executable: str
    argv: list[str]
    env: dict[str, str]  # the complete environment for the server
    url: str
    token_source: TokenSource
    token_file: Path | None = None
    warnings: list[str] = field(default_factory=list)


def token_file_path(environ: Mapping[str, str]) -> Path:
    state = environ.get("XDG_STATE_HOME") or str(
        Path(environ.get("HOME", "~")) / ".local" / "state"
    )
    return Path(state).expanduser() / "torchlane" / "jupyter-token"


def _read_private_token(path: Path) -> str:
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TorchlaneError(
            f"The Jupyter token file {path} can be read by other users "
            f"(mode {stat.filemode(info.st_mode)}).",
            f"Run `chmod 600 {path}` (or delete it to get a new token), then start again.",
        )
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise TorchlaneError(
            f"The Jupyter token file {path} is empty, which would disable authentication.",
            f"Delete {path} to get a new token, or run with --new-token.",
        )
    return token


def private_token(path: Path, *, renew: bool = False) -> str:
    """The token stored in `path` (0600, owned by the user), created on first use."""
    if path.exists() and not renew:
        return _read_private_token(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_hex(24)
    # Created with mode 0600: the token is never readable by others, not even for an instant.
    write_atomic(path, token, mode=0o600)  # no newline: jupyter_server reads the file verbatim
    return token


def find_executable(app: str, environ: Mapping[str, str]) -> str:
    program, package, _ = APPS[app]
    # The environment torchlane runs in comes first, even when its bin/ is not on PATH.
    search = os.pathsep.join([str(Path(sys.executable).parent), environ.get("PATH", "")])
    found = shutil.which(program, path=search)
    if found is None:
        raise TorchlaneError(
            f"Jupyter {'Lab' if app == 'lab' else 'Notebook'} is not installed in this environment.",
            f"Install it with `{sys.executable} -m pip install {package}`, then run "
            f"`torchlane jupyter {app}` again.",
        )
    return found


def _host_for_url(ip: str) -> str:
    host = socket.gethostname() if ip in ALL_INTERFACES else ip
    return f"[{host}]" if ":" in host else host


def plan_launch(
    app: str,
    *,
    ip: str | None,
    port: int,
    extra_args: Sequence[str],
    environ: Mapping[str, str],
    insecure_no_auth: bool = False,
    new_token: bool = False,
    executable: str | None = None,
) -> JupyterLaunch:
    """Everything `launch` needs: the argv, the environment and the URL to print."""
    if app not in APPS:
        raise usage_error(f"Unknown Jupyter application '{app}'.", "Use `lab` or `notebook`.")
    for arg in extra_args:
        name = arg.split("=", 1)[0]
        if name in _ADDRESS_OPTIONS:
            raise usage_error(
                f"Pass the address with torchlane's own options, not {name} after `--`.",
                "Use `torchlane jupyter --ip ADDRESS --port PORT`, so the printed URL is right.",
            )
        if name.startswith("--") and name.endswith(_SECRET_OPTIONS):
            raise usage_error(
                f"{name} on the command line is visible to every user of this machine (`ps`).",
                "Set JUPYTER_TOKEN in the environment instead; to disable authentication on "
                "purpose use --insecure-no-auth.",
            )
    host = ip if ip is not None else "127.0.0.1"
    warnings: list[str] = []
    if host in ALL_INTERFACES:
        warnings.append(
            f"WARNING: listening on ALL network interfaces ({host or 'all'}): anyone who can "
            "reach this machine and learns the token can run code as you. Prefer an SSH "
            "tunnel (`ssh -L 8888:127.0.0.1:8888 host`)."
        )
    elif host not in LOOPBACK:
        warnings.append(f"warning: listening on {host}, reachable from other machines.")
    env = dict(environ)
    token_file: Path | None = None
    source: TokenSource
    args = [f"--ip={host}", f"--port={port}", "--ServerApp.port_retries=0"]
    if insecure_no_auth:
        if host not in LOOPBACK:
            raise usage_error(
                "--insecure-no-auth is only allowed on 127.0.0.1: without a token anyone who "
                f"can reach {host} could run code as you.",
                "Drop --ip, or keep authentication on.",
            )
        env.pop("JUPYTER_TOKEN", None)
        env.pop("JUPYTER_TOKEN_FILE", None)
        args.append(NO_AUTH_ARGUMENT)
        warnings.append("WARNING: authentication is disabled (--insecure-no-auth).")
        token, source = "", "none"
    elif "JUPYTER_TOKEN" in environ:
        token, source = environ["JUPYTER_TOKEN"], "JUPYTER_TOKEN"
        if not token:
            raise usage_error(
                "JUPYTER_TOKEN is set but empty, which disables authentication.",
                "Unset it to get a private generated token, set it to a long random value, or "
                "pass --insecure-no-auth if you really mean no authentication.",
            )
    elif environ.get("JUPYTER_TOKEN_FILE"):
        token_file = Path(environ["JUPYTER_TOKEN_FILE"])
        token, source = _read_private_token(token_file), "JUPYTER_TOKEN_FILE"
    else:
        token_file = token_file_path(environ)
        token, source = private_token(token_file, renew=new_token), "token file"
        env["JUPYTER_TOKEN_FILE"] = str(token_file)
    program = executable or find_executable(app, environ)
    path = APPS[app][2]
    url = f"http://{_host_for_url(host)}:{port}/{path}" + (f"?token={token}" if token else "")
    return JupyterLaunch(
        executable=program,
        argv=[program, *args, *extra_args],
        env=env,
        url=url,
        token_source=source,
        token_file=token_file,
        warnings=warnings,
    )


def launch(plan: JupyterLaunch) -> None:
    """Replace this process with the Jupyter server (signals and exit status are then its own)."""
    for warning in plan.warnings:
        print(warning, file=sys.stderr)
    where = f" (token from {plan.token_file})" if plan.token_file else ""
    print(f"Jupyter will be at: {plan.url}{where}", flush=True)
    sys.stderr.flush()
    os.execvpe(plan.executable, plan.argv, plan.env)
