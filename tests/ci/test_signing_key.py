"""`torchlane ci signing-key`: a real ed25519 key pair (ssh-keygen), its allowed-signers line in
the repository, the private key kept outside it, and the steps that put it in CI."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.signing import KEY_VARIABLE, Verifier, sign, signer_from_env

pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None,
    reason="ssh-keygen (OpenSSH client) is not installed: signing keys untested",
)


def test_creates_the_pair_allows_it_and_says_where_the_secret_goes(project, cli, tmp_path) -> None:
    key = tmp_path / "keys" / "ci-key"
    result = cli(
        ["ci", "signing-key", "--provider", "github", "--key-file", str(key), "--json",
         "-C", str(project.root)]
    )  # fmt: skip
    assert result.code == 0, result.err
    setup = json.loads(result.out)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    signers = (project.root / ".torchlane" / "allowed_signers").read_text()
    assert signers.startswith('torchlane-ci namespaces="torchlane-metrics" ssh-ed25519 ')
    assert setup["added"] is True
    assert f"gh secret set {KEY_VARIABLE} --env torchlane-records < {key}" in setup["steps"][0]
    # The key signs records that verify against the file it wrote.
    with signer_from_env({KEY_VARIABLE: str(key)}) as signer:
        assert signer is not None
        data = sign(EvaluationRecord(commit="a" * 40, metrics={"accuracy": 0.9}).to_json(), signer)
    record = EvaluationRecord.from_json(json.loads(json.dumps(data)))
    assert record.signature is not None
    with Verifier(signers, shutil.which("ssh-keygen") or "") as verifier:
        assert verifier.problem(record.signature) is None


def test_gitlab_steps_name_a_protected_file_variable(project, cli, tmp_path) -> None:
    result = cli(
        ["ci", "signing-key", "--provider", "gitlab", "--key-file", str(tmp_path / "k"),
         "-C", str(project.root)]
    )  # fmt: skip
    assert result.code == 0, result.err
    assert f"glab variable set {KEY_VARIABLE} --protected --type file" in result.out


def test_refuses_to_overwrite_a_key_or_to_put_it_in_the_repository(project, cli, tmp_path) -> None:
    key = tmp_path / "k"
    key.write_text("an old key\n")
    signers = project.root / ".torchlane" / "allowed_signers"
    result = cli(
        ["ci", "signing-key", "--provider", "github", "--key-file", str(key),
         "-C", str(project.root)]
    )  # fmt: skip
    assert result.code == 1
    assert "already exists" in result.err
    assert key.read_text() == "an old key\n"
    assert not signers.exists()
    result = cli(
        ["ci", "signing-key", "--provider", "github", "--key-file",
         str(project.root / "keys" / "k"), "-C", str(project.root)]
    )  # fmt: skip
    assert result.code == 1
    assert "inside the repository" in result.err
    assert "hint:" in result.err
    assert not (project.root / "keys").exists()
    assert not signers.exists()
