"""Signed evaluation records: `ssh-keygen -Y sign` in the namespace "torchlane-metrics".

A record line is one JSON object. A signed one has a "signature" member,
`{"principal": "torchlane-ci", "sshsig": "-----BEGIN SSH SIGNATURE-----\\n..."}`; what is signed
is the canonical serialisation of the object without that member (`canonical`: keys sorted, no
whitespace, ASCII escapes), so any reader rebuilds the signed bytes from the parsed line,
whatever fields it knows. Verification is `ssh-keygen -Y verify` against an allowed-signers file
(`principal namespaces="torchlane-metrics" ssh-ed25519 AAAA...`), committed in the repository.

The signing key comes from the environment, `TORCHLANE_SIGNING_KEY`: the private key itself (a
CI secret) or the path of a file holding it. Either way it is copied into a private directory
(0700) as a 0600 file for ssh-keygen, and removed when signing is done.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlane import proc
from torchlane.errors import TorchlaneError

NAMESPACE = "torchlane-metrics"
KEY_VARIABLE = "TORCHLANE_SIGNING_KEY"
PRINCIPAL_VARIABLE = "TORCHLANE_SIGNING_PRINCIPAL"
DEFAULT_PRINCIPAL = "torchlane-ci"
DEFAULT_ALLOWED_SIGNERS = ".torchlane/allowed_signers"
_TIMEOUT_S = 30.0


def canonical(data: Mapping[str, Any]) -> str:
    """The bytes a signature covers: the record object without "signature", canonically."""
    body = {k: v for k, v in data.items() if k != "signature"}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


@dataclass(frozen=True)
class Signature:
    principal: str
    sshsig: str  # the armored SSH signature
    payload: str  # what it signs: canonical() of the line it came from (not stored)

    def to_json(self) -> dict[str, str]:
        return {"principal": self.principal, "sshsig": self.sshsig}


def signature_of(data: Mapping[str, Any]) -> Signature | None:
    """The signature a parsed record line carries, None when unsigned; ValueError if malformed."""
    raw = data.get("signature")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("the record's signature is not an object")
    principal, sshsig = raw.get("principal"), raw.get("sshsig")
    if not isinstance(principal, str) or not isinstance(sshsig, str) or not principal:
        raise ValueError("the record's signature needs a principal and an sshsig string")
    return Signature(principal, sshsig, canonical(data))


def ssh_keygen() -> str | None:
    return shutil.which("ssh-keygen")


def _require_ssh_keygen(why: str) -> str:
    program = ssh_keygen()
    if program is None:
        raise TorchlaneError(
            f"Cannot {why}: ssh-keygen (OpenSSH 8.2 or newer) is not installed.",
            "Install OpenSSH's client tools (Debian/Ubuntu: apt-get install openssh-client).",
        )
    return program


@contextmanager
def private_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="torchlane-signing-") as name:
        path = Path(name)
        path.chmod(0o700)
        yield path


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")


@dataclass(frozen=True)
class Signer:
    key: Path  # a 0600 copy of the private key
    principal: str


@contextmanager
def signer_from_env(environ: Mapping[str, str] | None = None) -> Iterator[Signer | None]:
    """The signer TORCHLANE_SIGNING_KEY configures (key material or a key file), or None."""
    environ = os.environ if environ is None else environ
    value = environ.get(KEY_VARIABLE, "").strip()
    if not value:
        yield None
        return
    principal = environ.get(PRINCIPAL_VARIABLE, "").strip() or DEFAULT_PRINCIPAL
    if "PRIVATE KEY-----" in value:
        material = value
    else:
        path = Path(value).expanduser()
        try:
            material = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TorchlaneError(
                f"{KEY_VARIABLE} names {path}, which cannot be read ({exc.strerror}).",
                f"Set {KEY_VARIABLE} to the private key itself or to the path of its file; "
                "`torchlane ci signing-key` creates one.",
            ) from exc
        if "PRIVATE KEY-----" not in material:
            raise TorchlaneError(
                f"{KEY_VARIABLE} names {path}, which holds no OpenSSH private key.",
                "Give the private key file `torchlane ci signing-key` wrote (not the .pub).",
            )
    with private_directory() as directory:
        key = directory / "signing-key"
        _write_private(key, material.replace("\r\n", "\n"))
        yield Signer(key, principal)


def sign(data: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """`data` with a "signature" member over its canonical serialisation."""
    program = _require_ssh_keygen("sign the evaluation record")
    payload = canonical(data)
    result = proc.run(
        [program, "-Y", "sign", "-q", "-f", str(signer.key), "-n", NAMESPACE],
        input=payload,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if not result.ok or "BEGIN SSH SIGNATURE" not in result.stdout:
        raise TorchlaneError(
            f"Signing the evaluation record failed: {proc.useful_lines(result)}.",
            f"Check that {KEY_VARIABLE} holds an unencrypted OpenSSH private key (no passphrase); "
            "`torchlane ci signing-key` creates one. Nothing was recorded.",
        )
    body = {k: v for k, v in data.items() if k != "signature"}
    return {**body, "signature": {"principal": signer.principal, "sshsig": result.stdout}}


class Verifier:
    """Checks signatures against one allowed-signers text. Use as a context manager."""

    def __init__(self, allowed_signers: str, program: str):
        self._text = allowed_signers
        self._program = program
        self._directory: Path | None = None
        self._stack: Any = None

    def __enter__(self) -> Verifier:
        self._stack = private_directory()
        self._directory = self._stack.__enter__()
        (self._directory / "allowed_signers").write_text(self._text, encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(None, None, None)

    def problem(self, signature: Signature) -> str | None:
        """None when the signature is good and its principal may sign records; else why not."""
        assert self._directory is not None, "use Verifier as a context manager"
        sig = self._directory / "record.sig"
        sig.write_text(signature.sshsig, encoding="utf-8")
        result = proc.run(
            [
                self._program,
                "-Y",
                "verify",
                "-f",
                str(self._directory / "allowed_signers"),
                "-I",
                signature.principal,
                "-n",
                NAMESPACE,
                "-s",
                str(sig),
            ],
            input=signature.payload,
            timeout=_TIMEOUT_S,
            check=False,
        )
        if result.ok:
            return None
        said = proc.useful_lines(result, 1)
        return f"its signature (principal {signature.principal!r}) does not verify: {said}"


@dataclass(frozen=True)
class KeyPair:
    private_key: Path
    public_key: str  # "ssh-ed25519 AAAA... comment"
    allowed_signers_line: str


def allowed_signers_line(principal: str, public_key: str) -> str:
    key = " ".join(public_key.split()[:2])  # the type and the key, without the comment
    return f'{principal} namespaces="{NAMESPACE}" {key}'


def generate_key(private_key: Path, principal: str) -> KeyPair:
    """A new ed25519 key pair without passphrase at `private_key` (0600) and `private_key`.pub."""
    program = _require_ssh_keygen("create a signing key")
    result = proc.run(
        [program, "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(private_key)],
        timeout=_TIMEOUT_S,
        check=False,
        closed_stdin=True,
    )
    if not result.ok:
        raise TorchlaneError(
            f"ssh-keygen could not create {private_key}: {proc.useful_lines(result)}.",
            "Choose another --key-file in a directory you can write.",
        )
    private_key.chmod(0o600)
    public = Path(f"{private_key}.pub").read_text(encoding="utf-8").strip()
    return KeyPair(private_key, public, allowed_signers_line(principal, public))
