"""Trusted baselines: records chosen by position and provenance, never by a claimed date; signed
records verified with the real ssh-keygen against the allowed-signers file committed on develop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import commit_file
from tests.metrics.helpers import accuracy_record, correct_pattern
from tests.metrics.scenario import build
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.signing import KEY_VARIABLE, generate_key
from torchlane.metrics.store import DEFAULT_NOTES_REF, append_record

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_ssh_keygen = pytest.mark.skipif(
    SSH_KEYGEN is None, reason="ssh-keygen (OpenSSH client) is not installed: signatures untested"
)


@pytest.fixture(autouse=True)
def _not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", KEY_VARIABLE):
        monkeypatch.delenv(name, raising=False)


def _note_lines(project, commit: str) -> list[str]:
    return project.git.out("notes", "--ref", DEFAULT_NOTES_REF, "show", commit).splitlines()


def _set_note(project, commit: str, lines: list[str]) -> None:
    project.git.run(
        "notes", "--ref", DEFAULT_NOTES_REF, "add", "-f", "-F", "-", commit,
        input="\n".join(lines) + "\n",
    )  # fmt: skip


def _forged(commit: str, wrong: set[int]) -> str:
    """A record claiming to be the newest evaluation ever, as good as the candidate."""
    return accuracy_record(
        commit,
        correct_pattern(2000, wrong),
        extra_metrics={"loss": 0.49},
        created_at="9999-12-31T23:59:59+00:00",
        branch="develop",
    ).to_line()


def test_a_forged_record_dated_9999_on_the_merge_base_does_not_pass_the_gate(project, cli) -> None:
    # 5 points worse than develop's last record: the gate fails.
    scenario = build(project, set(range(300)))
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert json.loads(result.out)["outcome"] == "fail"
    # Anyone who can push refs/notes/torchlane appends a record claiming a later date, as bad
    # as the candidate, to the merge-base's note. It was chosen as "the newest": the gate passed.
    base = scenario.develop[-1]
    _set_note(project, base, [*_note_lines(project, base), _forged(base, set(range(300)))])
    result = cli(["gate", "--json", "-C", str(project.root)])
    decision = json.loads(result.out)
    assert result.code == 1
    assert decision["outcome"] == "fail"
    accuracy = next(m for m in decision["metrics"] if m["metric"] == "accuracy")
    assert accuracy["baseline"] == pytest.approx(1 - 200 / 2000)  # the record made at landing


def test_the_candidate_is_its_newest_record_in_note_order_not_by_claimed_date(project, cli) -> None:
    scenario = build(project, set(range(300)))
    # A re-evaluation appended later speaks for the candidate even if it claims an older date.
    append_record(
        project.git,
        accuracy_record(
            scenario.candidate, correct_pattern(2000, set(range(200))), created_at="2000-01-01"
        ),
    )
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert json.loads(result.out)["outcome"] == "pass", result.out


# --- signed records -------------------------------------------------------------------------


def _keypair(tmp_path: Path, name: str, principal: str = "torchlane-ci"):
    directory = tmp_path / f"keys-{name}"
    directory.mkdir()
    return generate_key(directory / "key", principal)


@pytest.fixture
def signed(project, tmp_path, monkeypatch):
    """Records signed with CI's key, which develop's committed allowed-signers file names."""
    ci_key = _keypair(tmp_path, "ci")
    project.git.run("checkout", "--quiet", "develop")
    commit_file(project.git, ".torchlane/allowed_signers", ci_key.allowed_signers_line + "\n")
    monkeypatch.setenv(KEY_VARIABLE, str(ci_key.private_key))
    scenario = build(project, set(range(300)))
    monkeypatch.delenv(KEY_VARIABLE)
    return scenario, ci_key


def _replace_with(project, monkeypatch, commit: str, line: str, key: Path) -> None:
    """The note of `commit` becomes `line`, signed with `key`."""
    project.git.run("notes", "--ref", DEFAULT_NOTES_REF, "remove", commit)
    monkeypatch.setenv(KEY_VARIABLE, key.read_text())  # key material this time, not a path
    append_record(project.git, EvaluationRecord.from_line(line))
    monkeypatch.delenv(KEY_VARIABLE)


def _ci_gate(cli, project, monkeypatch, *extra: str) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("CI", "true")
    result = cli(["gate", "--json", *extra, "-C", str(project.root)])
    return result.code, json.loads(result.out)


@needs_ssh_keygen
def test_signed_baseline_is_trusted_in_ci_and_outranks_forged_records(
    project, cli, signed, monkeypatch
) -> None:
    scenario, _ = signed
    base = scenario.develop[-1]
    lines = _note_lines(project, base)
    assert len(lines) == 1
    assert '"signature"' in lines[0]
    code, decision = _ci_gate(cli, project, monkeypatch)
    assert (code, decision["outcome"]) == (1, "fail")
    # Rewriting the note so that a forged unsigned record comes first changes nothing: a
    # record CI signed outranks any unsigned one, wherever it sits.
    _set_note(project, base, [_forged(base, set(range(300))), *lines])
    code, decision = _ci_gate(cli, project, monkeypatch)
    assert (code, decision["outcome"]) == (1, "fail")
    monkeypatch.delenv("CI")
    assert cli(["gate", "-C", str(project.root)]).code == 1  # locally too


@needs_ssh_keygen
def test_unsigned_baseline_is_refused_in_ci_and_accepted_locally_with_a_warning(
    project, cli, signed, monkeypatch
) -> None:
    scenario, _ = signed
    base = scenario.develop[-1]
    _set_note(project, base, [_forged(base, set(range(300)))])  # the signed record removed
    code, decision = _ci_gate(cli, project, monkeypatch)
    assert (code, decision["outcome"]) == (1, "untrusted baseline")
    assert (
        "none of its 1 record(s) is signed by a key in develop:.torchlane/allowed_signers"
        in (decision["messages"][-1])
    )
    assert "TORCHLANE_SIGNING_KEY" in decision["hint"]
    monkeypatch.delenv("CI")
    result = cli(["gate", "-C", str(project.root)])
    assert result.code == 0  # the forged record is all there is: locally nothing can tell
    assert "baseline's record" in result.err
    assert "is not signed by CI" in result.err


@needs_ssh_keygen
def test_tampered_signed_record_is_refused(project, cli, signed, monkeypatch) -> None:
    scenario, _ = signed
    base = scenario.develop[-1]
    data = json.loads(_note_lines(project, base)[0])
    forged = json.loads(_forged(base, set(range(300))))
    data["metrics"] = forged["metrics"]  # the signature kept, the numbers changed
    data["per_example"] = forged["per_example"]
    _set_note(project, base, [json.dumps(data)])
    code, decision = _ci_gate(cli, project, monkeypatch)
    assert (code, decision["outcome"]) == (1, "untrusted baseline")
    assert any("does not verify" in m for m in decision["messages"])
    # Locally too a record whose signature fails is never used.
    monkeypatch.delenv("CI")
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert json.loads(result.out)["outcome"] == "untrusted baseline"
    assert "has a signature that does not verify" in json.loads(result.out)["messages"][-1]


@needs_ssh_keygen
def test_record_signed_by_an_unknown_key_is_refused(
    project, cli, signed, monkeypatch, tmp_path
) -> None:
    scenario, _ = signed
    base = scenario.develop[-1]
    stranger = _keypair(tmp_path, "stranger")
    _replace_with(project, monkeypatch, base, _forged(base, set(range(300))), stranger.private_key)
    code, decision = _ci_gate(cli, project, monkeypatch)
    assert (code, decision["outcome"]) == (1, "untrusted baseline")
    assert any("does not verify" in m for m in decision["messages"])


@needs_ssh_keygen
def test_a_pull_request_cannot_trust_its_own_key_or_switch_signing_off(
    project, cli, signed, monkeypatch, tmp_path
) -> None:
    scenario, _ = signed
    base = scenario.develop[-1]
    stranger = _keypair(tmp_path, "stranger")
    git = project.git
    # On the feature branch: the attacker's key allowed, signing switched off.
    (project.root / ".torchlane" / "allowed_signers").write_text(
        stranger.allowed_signers_line + "\n"
    )
    settings = project.root / ".torchlane.toml"
    settings.write_text(
        settings.read_text().replace("[gate]\n", '[gate]\nrequire_signed = "never"\n')
    )
    git.run("add", "-A")
    git.run("commit", "--quiet", "-m", "trust me")
    append_record(
        git,
        accuracy_record(
            git.out("rev-parse", "HEAD"), correct_pattern(2000, set(range(300))), branch="x"
        ),
    )
    _replace_with(project, monkeypatch, base, _forged(base, set(range(300))), stranger.private_key)
    code, decision = _ci_gate(cli, project, monkeypatch)
    assert (code, decision["outcome"]) == (1, "untrusted baseline")
