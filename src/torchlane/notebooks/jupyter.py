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

import ipaddress
import math
import os
import secrets
import shutil
import socket
import stat
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from torchlane.errors import TorchlaneError, usage_error
from torchlane.leanfs import private_dir, write_atomic

APPS = {
    "lab": ("jupyter-lab", "jupyterlab", "lab"),
    "notebook": ("jupyter-notebook", "notebook", "tree"),
    "server": ("jupyter-server", "jupyter_server", ""),  # the bare server (remote kernels, IDEs)
}
ALL_INTERFACES = frozenset({"0.0.0.0", "::", "*", ""})
# An empty token disables authentication; being empty it is safe on the command line.
NO_AUTH_ARGUMENT = "--IdentityProvider.token="  # torchlane: allow-secret
# Settings refused after `--`, by trait name: traitlets takes `--Class.trait=V`, `-Class.trait=V`
# and `--Class.trait V` alike, for any class that has the trait (ServerApp, NotebookApp,
# IdentityProvider, PasswordIdentityProvider, ...), and dashes for underscores.
_ADDRESS_TRAITS = frozenset({"ip", "port", "sock", "port_retries"})
_SECRET_TRAITS = frozenset({"token", "password", "hashed_password"})
_OPENING_TRAITS = frozenset(
    {
        "allow_origin",
        "allow_origin_pat",
        "allow_remote_access",
        "allow_credentials",
        "disable_check_xsrf",
        "allow_unauthenticated_access",
        "allow_password_change",
        "trust_xheaders",
    }
)
MIN_TOKEN_LENGTH = 32
MIN_TOKEN_BITS = 96.0  # estimated from the token's own character frequencies

# Where the server's token comes from; "none": authentication is off (--insecure-no-auth).
TokenSource = Literal["JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE", "token file", "none"]


@dataclass(frozen=True, kw_only=True)
class JupyterLaunch:
    executable: str
    argv: list[str]
    env: dict[str, str]  # the complete environment for the server
    url: str  # with the token: printed only to a terminal
    token_source: TokenSource
    bare_url: str = ""  # without it: printed where output may end up in a log
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
    try:
        private_dir(path.parent)  # 0700 whatever the umask: it also holds the crash logs
    except PermissionError as error:
        raise TorchlaneError(
            f"Cannot keep the Jupyter token private: {error}.",
            "Set XDG_STATE_HOME to a folder of your own, or pass the token in JUPYTER_TOKEN.",
        ) from error
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


def token_weakness(token: str) -> str | None:
    """Why `token` is too weak to guard a server that runs code, or None.

    The estimate is the token's length times the Shannon entropy of its own character
    frequencies: a repeated character scores 0, `abab…` 1 bit per character, 32 random hex
    digits about 115 bits."""
    if len(token) < MIN_TOKEN_LENGTH:
        return f"it has {len(token)} characters; at least {MIN_TOKEN_LENGTH} are required"
    counts = Counter(token)
    per_char = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    bits = per_char * len(token)
    if bits < MIN_TOKEN_BITS:
        return (
            f"its characters repeat too much (about {bits:.0f} bits of entropy; at least "
            f"{MIN_TOKEN_BITS:.0f} are required)"
        )
    return None


def _require_strong(token: str, where: str) -> None:
    weakness = token_weakness(token)
    if weakness is not None:
        raise usage_error(
            f"The Jupyter token from {where} is too weak to guard a server that runs code as "
            f"you: {weakness}.",
            "Unset it to get a private generated token, or use a long random value, e.g. "
            '`python -c "import secrets; print(secrets.token_hex(24))"`.',
        )


def trait_name(arg: str) -> str | None:
    """The traitlets option an argument sets (`ip`, `token`, ...), or None if it sets none.

    `--ServerApp.ip=x`, `-ServerApp.ip=x`, `--ServerApp.ip x` and `--ip` all give `ip`."""
    if not arg.startswith("-") or arg in ("-", "--"):
        return None
    name = arg.lstrip("-").split("=", 1)[0]
    return name.rsplit(".", 1)[-1].replace("-", "_").lower() or None


def _check_extra_args(extra_args: Sequence[str]) -> None:
    for arg in extra_args:
        trait = trait_name(arg)
        shown = arg.split("=", 1)[0]
        if trait in _ADDRESS_TRAITS:
            raise usage_error(
                f"Pass the address with torchlane's own options, not {shown} after `--`.",
                "Use `torchlane jupyter --ip ADDRESS --port PORT`, so the printed URL is right "
                "and a non-local address is a decision (--allow-remote).",
            )
        if trait in _SECRET_TRAITS:
            raise usage_error(
                f"{shown} on the command line is visible to every user of this machine (`ps`).",
                "Set JUPYTER_TOKEN in the environment instead (32+ random characters); to "
                "disable authentication on purpose use --insecure-no-auth.",
            )
        if trait in _OPENING_TRAITS:
            raise usage_error(
                f"{shown} after `--` would let other web sites or machines use this server "
                "(it runs code as you), so torchlane does not pass it on.",
                "Reach the server through an SSH tunnel instead (`ssh -L 8888:127.0.0.1:8888 "
                "host`); if you really need it, start Jupyter yourself.",
            )


def _ipv4_legacy(host: str) -> ipaddress.IPv4Address | None:
    """`0`, `127.1`, `0x7f.0.0.1`: forms inet_aton (and so the server) accepts."""
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def reach(host: str) -> Literal["loopback", "all", "network"]:
    """Who can connect to a server listening on `host`."""
    if host in ALL_INTERFACES or host.lower() == "localhost":
        return "all" if host in ALL_INTERFACES else "loopback"
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
            host.strip("[]")
        )
    except ValueError:
        address = _ipv4_legacy(host)
    if address is None:
        return "network"  # a host name: whatever it resolves to, it is not a decision for us
    if address.is_unspecified:
        return "all"
    return "loopback" if address.is_loopback else "network"


def _reach_warning(host: str, port: int, scope: str) -> str:
    if scope == "all":
        return (
            f"WARNING: listening on ALL network interfaces ({host or 'all'}) port {port}: "
            "every machine that can reach this one on any of its networks (and, through port "
            "forwarding or a public address, possibly the internet) can connect, and anyone "
            "who learns the token can run code as you. Prefer an SSH tunnel "
            f"(`ssh -L {port}:127.0.0.1:{port} host`)."
        )
    return (
        f"WARNING: listening on {host} port {port}: every machine that can route to {host} "
        "can connect, and anyone who learns the token can run code as you."
    )


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
    allow_remote: bool = False,
    executable: str | None = None,
) -> JupyterLaunch:
    """Everything `launch` needs: the argv, the environment and the URL to print."""
    if app not in APPS:
        raise usage_error(
            f"Unknown Jupyter application '{app}'.", "Use `lab`, `notebook` or `server`."
        )
    _check_extra_args(extra_args)
    host = ip if ip is not None else "127.0.0.1"
    warnings: list[str] = []
    scope = reach(host)
    if insecure_no_auth and scope != "loopback":
        raise usage_error(
            "--insecure-no-auth is only allowed on 127.0.0.1: without a token anyone who "
            f"can reach {host or 'this machine'} could run code as you.",
            "Drop --ip, or keep authentication on.",
        )
    if scope != "loopback":
        if not allow_remote:
            who = (
                "every machine on every network this one is on"
                if scope == "all"
                else (f"every machine that can route to {host}")
            )
            raise usage_error(
                f"--ip {host or repr(host)} would let {who} connect to a server that runs code "
                "as you.",
                "Prefer an SSH tunnel (`ssh -L 8888:127.0.0.1:8888 host`) and the default "
                "127.0.0.1; to listen there anyway, add --allow-remote.",
            )
        warnings.append(_reach_warning(host, port, scope))
    env = dict(environ)
    token_file: Path | None = None
    source: TokenSource
    args = [f"--ip={host}", f"--port={port}", "--ServerApp.port_retries=0"]
    if insecure_no_auth:
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
        _require_strong(token, "JUPYTER_TOKEN")
    elif environ.get("JUPYTER_TOKEN_FILE"):
        token_file = Path(environ["JUPYTER_TOKEN_FILE"])
        token, source = _read_private_token(token_file), "JUPYTER_TOKEN_FILE"
        _require_strong(token, str(token_file))
    else:
        token_file = token_file_path(environ)
        token, source = private_token(token_file, renew=new_token), "token file"
        env["JUPYTER_TOKEN_FILE"] = str(token_file)
    program = executable or find_executable(app, environ)
    path = APPS[app][2]
    url = f"http://{_host_for_url(host)}:{port}/{path}"
    token_url = url + (f"?token={token}" if token else "")
    return JupyterLaunch(
        executable=program,
        argv=[program, *args, *extra_args],
        env=env,
        url=token_url,
        bare_url=url,
        token_source=source,
        token_file=token_file,
        warnings=warnings,
    )


def launch(plan: JupyterLaunch) -> None:
    """Replace this process with the Jupyter server (signals and exit status are then its own)."""
    for warning in plan.warnings:
        print(warning, file=sys.stderr)
    where = f" (token from {plan.token_file})" if plan.token_file else ""
    if sys.stdout.isatty() or not plan.bare_url:
        print(f"Jupyter will be at: {plan.url}{where}", flush=True)
    else:  # redirected (nohup, a log file): the token stays out of it
        origin = f"the file {plan.token_file}" if plan.token_file else "JUPYTER_TOKEN"
        print(f"Jupyter will be at: {plan.bare_url} (token: in {origin})", flush=True)
    sys.stderr.flush()
    os.execvpe(plan.executable, plan.argv, plan.env)
