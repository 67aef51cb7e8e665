"""`torchlane ci signing-key`: the key pair that lets CI sign evaluation records.

Creates an ed25519 key pair outside the repository, adds its public half to the allowed-signers
file in the repository (`[tool.torchlane.gate] allowed_signers`), and says where the private
half goes: the CI secret TORCHLANE_SIGNING_KEY, readable only by the jobs that record develop's
and main's metrics (docs/metrics-and-gate.md, "Trusted baselines").
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from torchlane.errors import TorchlaneError
from torchlane.leanfs import write_atomic
from torchlane.metrics.signing import DEFAULT_PRINCIPAL, KEY_VARIABLE, generate_key
from torchlane.project import Project

Provider = Literal["github", "gitlab"]


@dataclass(frozen=True, kw_only=True)
class SigningSetup:
    private_key: str  # path of the new private key (outside the repository)
    public_key: str
    allowed_signers: str  # the file in the repository, relative to its root
    added: bool  # False when the file already had this exact line
    principal: str
    steps: list[str]  # what to do next, in order


def default_key_file(ctx: Project, principal: str) -> Path:
    return Path.home() / ".ssh" / f"torchlane-{ctx.root.name}-{principal}"


def _secret_steps(provider: Provider, key: Path, environment: str) -> list[str]:
    quoted = shlex.quote(str(key))
    if provider == "github":
        where = f"--env {shlex.quote(environment)} " if environment else ""
        return [
            f"Store the private key as a secret of the GitHub environment '{environment}': "
            f"`gh secret set {KEY_VARIABLE} {where}< {quoted}`. In Settings > Environments > "
            f"{environment}, limit its deployment branches to develop and main: a repository "
            "secret would reach the workflow of any branch someone pushes.",
        ]
    return [
        f"Store the private key as a protected CI/CD variable of type File: `glab variable set "
        f"{KEY_VARIABLE} --protected --type file < {quoted}`. Protected variables reach only "
        "pipelines of protected branches and tags (`torchlane ci protect` protects develop and "
        "main); an unprotected one would reach every merge request's pipeline.",
    ]


def setup_signing(
    ctx: Project,
    provider: Provider,
    *,
    key_file: Path | None = None,
    principal: str = DEFAULT_PRINCIPAL,
) -> SigningSetup:
    if not principal or any(c.isspace() or c in "\"',*?!" for c in principal):
        raise TorchlaneError(
            f"The principal {principal!r} cannot name a signer in an allowed-signers file.",
            "Use letters, digits, '.', '-', '_' or '@', e.g. torchlane-ci.",
        )
    key = (key_file or default_key_file(ctx, principal)).expanduser().absolute()
    root = ctx.root.resolve()
    if key.resolve().is_relative_to(root):
        raise TorchlaneError(
            f"The private key {key} would be inside the repository, one `git add` from being "
            "committed.",
            "Give --key-file a path outside the repository (the default is under ~/.ssh).",
        )
    for path in (key, Path(f"{key}.pub")):
        if path.exists():
            raise TorchlaneError(
                f"{path} already exists; torchlane does not overwrite keys.",
                "Give another --key-file, or remove the old key if it is no longer used.",
            )
    relative = ctx.config.gate.allowed_signers
    signers = root / relative
    if signers.is_dir():
        raise TorchlaneError(
            f"The allowed-signers path {relative} is a directory.",
            "Set [tool.torchlane.gate] allowed_signers to a file path.",
        )
    key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pair = generate_key(key, principal)
    existing = signers.read_text(encoding="utf-8") if signers.is_file() else ""
    added = pair.allowed_signers_line not in existing.splitlines()
    if added:
        prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
        write_atomic(signers, prefix + pair.allowed_signers_line + "\n")
    develop = ctx.config.branches.develop
    steps = [
        *_secret_steps(provider, key, ctx.config.ci.records_environment),
        f"Commit {relative} and merge it into {develop}: the gate reads the copy committed on "
        f"{develop}, so a pull request cannot trust a key of its own.",
        f"Regenerate the CI files (`torchlane ci generate --provider {provider}`), so that the "
        "recording jobs sign what they record; pull-request jobs never see the key.",
        f"Then delete {key} (or keep it in a password manager): CI holds the only copy it needs.",
    ]
    return SigningSetup(
        private_key=str(key),
        public_key=pair.public_key,
        allowed_signers=relative,
        added=added,
        principal=principal,
        steps=steps,
    )
