"""Record signatures: the canonical bytes, the key from the environment, failures that write
nothing. Signing and verifying use the real ssh-keygen."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.metrics.helpers import plain_record
from torchlane.errors import TorchlaneError
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.signing import (
    KEY_VARIABLE,
    Verifier,
    canonical,
    generate_key,
    sign,
    signature_of,
    signer_from_env,
)
from torchlane.metrics.store import DEFAULT_NOTES_REF, append_record, read_records

needs_ssh_keygen = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None,
    reason="ssh-keygen (OpenSSH client) is not installed: signatures untested",
)

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(st.text(max_size=6), _json_values, max_size=6),
    st.sampled_from([None, 1, 4]),
    st.booleans(),
)
def test_canonical_bytes_survive_any_reserialisation(
    data: dict[str, Any], indent: int | None, ascii_only: bool
) -> None:
    data = {k: v for k, v in data.items() if k != "signature"}
    # However a line is re-written (key order, whitespace, escapes), a reader rebuilds the
    # bytes that were signed; the signature member itself is never part of them.
    rewritten = json.loads(
        json.dumps(
            dict(reversed(list(data.items()))),
            indent=indent,
            ensure_ascii=ascii_only,
        )
    )
    assert canonical(rewritten) == canonical(data)
    signed = {**rewritten, "signature": {"principal": "p", "sshsig": "s"}}
    parsed = signature_of(signed)
    assert parsed is not None
    assert parsed.payload == canonical(data)


@pytest.mark.parametrize(
    "bad", [[], "text", {"principal": "p"}, {"principal": "", "sshsig": "x"}, {"sshsig": 3}]
)
def test_a_malformed_signature_member_is_a_note_problem_not_a_crash(project, bad) -> None:
    commit = project.git.out("rev-parse", "HEAD")
    line = json.loads(plain_record(commit, {"a": 1.0}).to_line())
    line["signature"] = bad
    project.git.run(
        "notes", "--ref", DEFAULT_NOTES_REF, "add", "-F", "-", commit, input=json.dumps(line)
    )
    read = read_records(project.git, commit)
    assert read.records == []
    assert "signature" in read.problems[0].reason


def test_no_key_means_unsigned(monkeypatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    with signer_from_env() as signer:
        assert signer is None


def test_a_key_path_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    with (
        pytest.raises(TorchlaneError) as caught,
        signer_from_env({KEY_VARIABLE: str(tmp_path / "x")}),
    ):
        pass
    assert "cannot be read" in caught.value.message
    (tmp_path / "pub").write_text("ssh-ed25519 AAAA comment\n")
    with (
        pytest.raises(TorchlaneError) as caught,
        signer_from_env({KEY_VARIABLE: str(tmp_path / "pub")}),
    ):
        pass
    assert "holds no OpenSSH private key" in caught.value.message


@needs_ssh_keygen
def test_the_key_is_copied_private_and_removed_after(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k", "torchlane-ci")
    with signer_from_env({KEY_VARIABLE: key.private_key.read_text()}) as signer:
        assert signer is not None
        copy = signer.key
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    assert not copy.exists()


@needs_ssh_keygen
def test_a_broken_key_fails_and_records_nothing(project, monkeypatch) -> None:
    commit = project.git.out("rev-parse", "HEAD")
    monkeypatch.setenv(
        KEY_VARIABLE,
        "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    with pytest.raises(TorchlaneError) as caught:
        append_record(project.git, plain_record(commit, {"a": 1.0}))
    assert "Signing the evaluation record failed" in caught.value.message
    assert "Nothing was recorded" in (caught.value.hint or "")
    assert project.git.ref_value(DEFAULT_NOTES_REF) is None


@needs_ssh_keygen
def test_signed_record_round_trips_and_any_edit_breaks_it(project, monkeypatch, tmp_path) -> None:
    key = generate_key(tmp_path / "k", "torchlane-ci")
    commit = project.git.out("rev-parse", "HEAD")
    monkeypatch.setenv(KEY_VARIABLE, str(key.private_key))
    append_record(project.git, plain_record(commit, {"accuracy": 0.91, "loss": float("nan")}))
    (record,) = read_records(project.git, commit).records
    assert record.signature is not None
    assert record.metrics["accuracy"] == 0.91
    program = shutil.which("ssh-keygen") or ""
    with Verifier(key.allowed_signers_line + "\n", program) as verifier:
        assert verifier.problem(record.signature) is None
        for field, value in (("commit", "f" * 40), ("dirty", True), ("created_at", "9999")):
            data = {**json.loads(record.signature.payload), field: value}
            edited = signature_of({**data, "signature": record.signature.to_json()})
            assert edited is not None
            assert "does not verify" in (verifier.problem(edited) or "")
    # Signing again gives a record of the same content: the signature covers what to_json holds.
    with signer_from_env({KEY_VARIABLE: str(key.private_key)}) as signer:
        assert signer is not None
        again = EvaluationRecord.from_json(sign(record.to_json(), signer))
    assert again.metrics.keys() == record.metrics.keys()


@needs_ssh_keygen
def test_metrics_show_names_the_signer(project, cli, monkeypatch, tmp_path) -> None:
    key = generate_key(tmp_path / "k", "torchlane-ci")
    commit = project.git.out("rev-parse", "HEAD")
    monkeypatch.setenv(KEY_VARIABLE, str(key.private_key))
    append_record(project.git, plain_record(commit, {"accuracy": 0.91}))
    result = cli(["metrics", "show", "-C", str(project.root)])
    assert result.code == 0, result.err
    assert "signed by: torchlane-ci" in result.out
    shown = json.loads(cli(["metrics", "show", "--json", "-C", str(project.root)]).out)
    assert shown["records"][0]["signature"]["principal"] == "torchlane-ci"
