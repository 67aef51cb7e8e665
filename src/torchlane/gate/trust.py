"""Which record speaks for a commit, and whether the gate may trust it.

The commit is chosen by position in history (gate/baseline.py). Among that commit's records:

1. Provenance: a record whose signature verifies against the allowed-signers file (CI signed
   it) outranks an unsigned one; a record with a signature that does not verify (tampered, or an
   unknown key) is never used and is reported. Where signing is required (`require_signed`),
   only verified records count.
2. Pairing: a record over the same examples as the candidate (so a paired test is possible).
3. A clean work tree's record outranks one made with uncommitted changes.
4. Note order (metrics/store.py): for the baseline the first record, the one made when the
   commit landed, so that later appends (re-runs, or a record forged with any date) cannot
   displace it; for the candidate the last, the newest evaluation (the one this run just made).

The `created_at` a record carries is never used: it is whatever its writer claims.

Where the trust comes from: the allowed-signers file and `require_signed` are read from develop's
committed settings, and the stricter of develop's and the checkout's `require_signed` holds, so a
pull request cannot trust its own key or switch signing off for its own gate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import tomllib

from torchlane.errors import TorchlaneError
from torchlane.gate.settings import RequireSigned
from torchlane.git import Git
from torchlane.metrics.history import develop_tip
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.signing import DEFAULT_ALLOWED_SIGNERS, Verifier, ssh_keygen
from torchlane.project import Project

_STRICTNESS: dict[str, int] = {"never": 0, "in-ci": 1, "always": 2}
Side = Literal["baseline", "candidate"]
Provenance = Literal["signed", "unsigned", "unverified", "bad signature"]


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """GitHub Actions, GitLab CI and most others set CI=true."""
    environ = os.environ if environ is None else environ
    return any(
        environ.get(name, "").lower() in ("true", "1", "yes")
        for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI")
    )


def _committed_gate_table(git: Git, ref: str) -> dict[str, Any] | None:
    """[tool.torchlane.gate] (or .torchlane.toml's [gate]) as committed at `ref`."""
    for path, keys in ((".torchlane.toml", ("gate",)), ("pyproject.toml", ("tool", "torchlane"))):
        spec = f"{ref}:{path}"
        if not git.succeeds("cat-file", "-e", spec):
            continue
        try:
            table: object = tomllib.loads(git.out("show", spec))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return None
        for key in keys:
            table = table.get(key) if isinstance(table, dict) else None
        if path == "pyproject.toml":
            table = table.get("gate") if isinstance(table, dict) else None
            if table is None:
                continue
        return table if isinstance(table, dict) else {}
    return None


@dataclass(frozen=True, kw_only=True)
class TrustPolicy:
    required: bool  # only records with a verified signature count
    level: RequireSigned  # the stricter of develop's committed setting and the checkout's
    allowed_signers: str | None  # the file's text; None: signatures cannot be checked
    source: str  # where that text came from, for messages
    program: str | None  # ssh-keygen

    @property
    def can_verify(self) -> bool:
        return self.allowed_signers is not None and self.program is not None


def trust_policy(ctx: Project, environ: Mapping[str, str] | None = None) -> TrustPolicy:
    gate, git = ctx.config.gate, ctx.git
    level: RequireSigned = gate.require_signed
    path = gate.allowed_signers
    text: str | None = None
    source = ""
    ci = in_ci(environ)
    try:
        tip: str | None = develop_tip(ctx)
    except TorchlaneError:
        tip = None
    if tip is not None:
        committed = _committed_gate_table(git, tip) or {}
        theirs = committed.get("require_signed")
        if isinstance(theirs, str) and _STRICTNESS.get(theirs, 0) > _STRICTNESS[level]:
            level = theirs  # type: ignore[assignment]
        committed_path = committed.get("allowed_signers")
        path = committed_path if isinstance(committed_path, str) else DEFAULT_ALLOWED_SIGNERS
        short = tip.removeprefix("refs/heads/").removeprefix("refs/remotes/")
        if git.succeeds("cat-file", "-e", f"{tip}:{path}"):
            text, source = git.out("show", f"{tip}:{path}") + "\n", f"{short}:{path}"
    if text is None and not ci:
        # Locally, a team setting signing up can try it before develop has the file.
        local = ctx.root / gate.allowed_signers
        if local.is_file():
            text, source = local.read_text(encoding="utf-8"), gate.allowed_signers
    required = level == "always" or (level == "in-ci" and ci and text is not None)
    return TrustPolicy(
        required=required,
        level=level,
        allowed_signers=text,
        source=source or path,
        program=ssh_keygen(),
    )


@dataclass(frozen=True, kw_only=True)
class Choice:
    record: EvaluationRecord | None
    provenance: Provenance | None = None
    messages: list[str] = field(default_factory=list)
    untrusted: str | None = None  # records exist, but none the policy trusts: why


def _provenance(record: EvaluationRecord, verifier: Verifier | None) -> tuple[Provenance, str]:
    if record.signature is None:
        return "unsigned", ""
    if verifier is None:
        return "unverified", ""
    problem = verifier.problem(record.signature)
    return ("signed", "") if problem is None else ("bad signature", problem)


def choose(
    records: list[EvaluationRecord],
    side: Side,
    policy: TrustPolicy,
    *,
    same_ids: str | None = None,
) -> Choice:
    """The record that speaks for one commit's side of the gate (module docstring).

    Signing is required of the baseline only: a pull request's candidate is evaluated by its own
    job, which never holds the signing key (pull-request code never sees a secret).
    """
    if side == "candidate":
        policy = replace(policy, required=False)
    if not records:
        return Choice(record=None)
    messages: list[str] = []
    if policy.required and not policy.can_verify:
        missing = (
            "ssh-keygen is not installed"
            if policy.program is None
            else f"there is no allowed-signers file ({policy.source})"
        )
        return Choice(
            record=None,
            untrusted=f'signed records are required (require_signed = "{policy.level}") but '
            f"cannot be checked: {missing}",
        )
    ranked: list[tuple[tuple[int, int, int, int], EvaluationRecord, Provenance]] = []
    signed_ones = any(r.signature is not None for r in records)
    verifying = policy.can_verify and signed_ones
    with (
        Verifier(policy.allowed_signers or "", policy.program or "") if verifying else nullcontext()
    ) as active:
        for position, record in enumerate(records):
            provenance, problem = _provenance(record, active)
            if provenance == "bad signature":
                messages.append(
                    f"{side} {record.commit[:12]}: record {position + 1} ignored, {problem}"
                )
                continue
            if policy.required and provenance != "signed":
                continue
            pairs = same_ids is not None and bool(
                record.per_example and record.per_example.ids_fingerprint == same_ids
            )
            order = position if side == "baseline" else -position
            key = (0 if provenance == "signed" else 1, 0 if pairs else 1, int(record.dirty), order)
            ranked.append((key, record, provenance))
    if not ranked:
        reason = (
            f"none of its {len(records)} record(s) is signed by a key in {policy.source}"
            if policy.required
            else f"every one of its {len(records)} record(s) has a signature that does not verify"
        )
        return Choice(record=None, messages=messages, untrusted=reason)
    ranked.sort(key=lambda item: item[0])
    _, record, provenance = ranked[0]
    if side == "baseline" and provenance != "signed" and policy.allowed_signers is not None:
        unchecked = (
            " (signatures are not checked: ssh-keygen is missing)" if policy.program is None else ""
        )
        messages.append(
            f"the baseline's record ({record.commit[:12]}) is not signed by CI{unchecked}; "
            "where signing is required (in CI) the gate refuses such a baseline"
        )
    return Choice(record=record, provenance=provenance, messages=messages)


def untrusted_hint(commit: str, policy: TrustPolicy) -> str:
    short = commit[:12]
    if policy.program is None:
        return (
            "Install OpenSSH's client tools in the CI image (Debian/Ubuntu: apt-get install "
            "openssh-client); the gate verifies signatures with ssh-keygen."
        )
    if policy.allowed_signers is None:
        return (
            "Run `torchlane ci signing-key` to create the key pair and the allowed-signers file, "
            "commit the file to develop and store the key in the CI secret TORCHLANE_SIGNING_KEY."
        )
    return (
        f"Baseline records count only when CI signed them: re-run the pipeline that records "
        f"{short} (develop's record job signs with the TORCHLANE_SIGNING_KEY secret), or evaluate "
        f"it with that key set (`TORCHLANE_SIGNING_KEY=... torchlane eval {short} && torchlane "
        "metrics push`), or pass --baseline REV of a commit with a signed record."
    )
