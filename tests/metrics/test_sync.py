"""push/pull of the notes ref between two clones and a bare origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.metrics.helpers import plain_record
from torchlane.errors import TorchlaneError
from torchlane.git import Git
from torchlane.metrics.store import DEFAULT_NOTES_REF, append_record, read_records
from torchlane.metrics.sync import pull, push


def _clone(project, tmp_path: Path, name: str) -> Git:
    Git(tmp_path).run("clone", "--quiet", str(project.origin), str(tmp_path / name))
    return Git(tmp_path / name)


def test_two_clones_writing_to_the_same_commit_both_survive(project, tmp_path: Path) -> None:
    alice, bob = _clone(project, tmp_path, "alice"), _clone(project, tmp_path, "bob")
    commit = alice.out("rev-parse", "HEAD")
    append_record(alice, plain_record(commit, {"accuracy": 0.91}, "2026-01-01T00:00:01+00:00"))
    append_record(bob, plain_record(commit, {"accuracy": 0.92}, "2026-01-01T00:00:02+00:00"))

    first = push(alice, DEFAULT_NOTES_REF, "origin")
    assert first.action == "pushed"
    # Bob's push is not a fast-forward of what Alice pushed: it merges hers in first.
    second = push(bob, DEFAULT_NOTES_REF, "origin")
    assert second.action == "pushed"
    assert pull(alice, DEFAULT_NOTES_REF, "origin").action == "fast-forward"

    for clone in (alice, bob):
        values = [r.metrics["accuracy"] for r in read_records(clone, commit).records]
        assert values == [0.91, 0.92]
    remote_ref = Git(project.origin).ref_value(DEFAULT_NOTES_REF)
    assert remote_ref == alice.ref_value(DEFAULT_NOTES_REF) == bob.ref_value(DEFAULT_NOTES_REF)


def test_pull_unions_diverged_notes_and_keeps_duplicates_once(project, tmp_path: Path) -> None:
    alice, bob = _clone(project, tmp_path, "alice"), _clone(project, tmp_path, "bob")
    commit = alice.out("rev-parse", "HEAD")
    shared = plain_record(commit, {"accuracy": 0.5}, "2026-01-01T00:00:00+00:00")
    append_record(alice, shared)
    push(alice, DEFAULT_NOTES_REF, "origin")
    append_record(bob, shared)  # the same evaluation, recorded independently
    append_record(bob, plain_record(commit, {"accuracy": 0.6}, "2026-01-02T00:00:00+00:00"))
    append_record(alice, plain_record(commit, {"accuracy": 0.7}, "2026-01-03T00:00:00+00:00"))
    push(alice, DEFAULT_NOTES_REF, "origin")
    assert pull(bob, DEFAULT_NOTES_REF, "origin").action == "merged"
    assert [r.metrics["accuracy"] for r in read_records(bob, commit).records] == [0.5, 0.6, 0.7]
    assert bob.ref_value("refs/notes/remotes/origin/torchlane") is not None


def test_pull_with_nothing_on_the_remote_and_push_with_nothing_here(
    project, tmp_path: Path
) -> None:
    alice = _clone(project, tmp_path, "alice")
    assert pull(alice, DEFAULT_NOTES_REF, "origin").action == "nothing on the remote"
    with pytest.raises(TorchlaneError, match="no metrics to push"):
        push(alice, DEFAULT_NOTES_REF, "origin")
    with pytest.raises(TorchlaneError, match="no remote named 'upstream'"):
        pull(alice, DEFAULT_NOTES_REF, "upstream")


def test_metrics_push_and_pull_commands(project, tmp_path: Path, cli) -> None:
    alice, bob = _clone(project, tmp_path, "alice"), _clone(project, tmp_path, "bob")
    commit = alice.out("rev-parse", "HEAD")
    append_record(alice, plain_record(commit, {"accuracy": 0.8}))
    assert cli(["metrics", "push", "-C", str(alice.cwd)]).code == 0
    result = cli(["metrics", "pull", "--json", "-C", str(bob.cwd)])
    assert result.code == 0
    assert '"action": "created"' in result.out
    assert read_records(bob, commit).records[0].metrics == {"accuracy": 0.8}


@pytest.mark.slow
def test_concurrent_pushes_from_four_clones_all_arrive(project, tmp_path: Path) -> None:
    import subprocess
    import sys

    clones = [_clone(project, tmp_path, f"c{i}") for i in range(4)]
    commit = clones[0].out("rev-parse", "HEAD")
    for i, clone in enumerate(clones):
        append_record(clone, plain_record(commit, {"accuracy": i / 10}, f"2026-01-01T00:00:0{i}"))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "torchlane", "metrics", "push", "-C", str(clone.cwd)],
            stdout=subprocess.DEVNULL,
        )
        for clone in clones
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * 4
    pull(clones[0], DEFAULT_NOTES_REF, "origin")
    values = sorted(r.metrics["accuracy"] for r in read_records(clones[0], commit).records)
    assert values == [0.0, 0.1, 0.2, 0.3]


@pytest.mark.slow
def test_records_and_merges_work_without_a_git_identity(
    project, tmp_path: Path, monkeypatch
) -> None:
    alice, bob = _clone(project, tmp_path, "alice"), _clone(project, tmp_path, "bob")
    commit = alice.out("rev-parse", "HEAD")
    append_record(alice, plain_record(commit, {"accuracy": 0.1}, "2026-01-01T00:00:01"))
    push(alice, DEFAULT_NOTES_REF, "origin")
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))  # like a fresh CI runner
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    runner = Git(bob.cwd)
    assert runner.config_get("user.email") is None
    append_record(runner, plain_record(commit, {"accuracy": 0.2}, "2026-01-01T00:00:02"))
    assert push(runner, DEFAULT_NOTES_REF, "origin").action == "pushed"
    assert len(read_records(runner, commit).records) == 2


def test_a_push_that_changes_nothing_is_up_to_date(project, tmp_path: Path) -> None:
    alice = _clone(project, tmp_path, "alice")
    commit = alice.out("rev-parse", "HEAD")
    append_record(alice, plain_record(commit, {"accuracy": 0.5}))
    assert push(alice, DEFAULT_NOTES_REF, "origin").action == "pushed"
    again = push(alice, DEFAULT_NOTES_REF, "origin")
    assert (again.action, again.attempts) == ("up to date", 1)


def test_a_server_side_rejection_is_not_retried_and_shows_the_remote_lines(
    project, tmp_path: Path
) -> None:
    alice = _clone(project, tmp_path, "alice")
    commit = alice.out("rev-parse", "HEAD")
    append_record(alice, plain_record(commit, {"accuracy": 0.5}))
    calls = tmp_path / "hook-calls"
    hook = Path(project.origin) / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\necho called >> '{calls}'\necho 'policy: notes are read-only here' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    with pytest.raises(TorchlaneError) as caught:
        push(alice, DEFAULT_NOTES_REF, "origin")
    assert "remote: policy: notes are read-only here" in caught.value.message
    assert "pre-receive hook declined" in caught.value.message
    assert "other jobs" not in caught.value.message.lower()
    assert calls.read_text().splitlines() == ["called"]


def test_a_403_on_push_names_the_write_token_variable_to_set(project, tmp_path: Path) -> None:
    """GitLab answers a push with the job token by 403: the error says which variable to set."""
    import http.server
    import threading

    class Forbidden(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(403)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        alice = _clone(project, tmp_path, "alice")
        commit = alice.out("rev-parse", "HEAD")
        append_record(alice, plain_record(commit, {"accuracy": 0.5}))
        # Fetches go to the real origin; pushes to the forbidding server, as in a CI job.
        url = f"http://127.0.0.1:{server.server_address[1]}/team/model.git"
        alice.run("remote", "set-url", "--push", "origin", url)
        with pytest.raises(TorchlaneError) as caught:
            push(alice, DEFAULT_NOTES_REF, "origin", token_variable="MY_WRITE_TOKEN")
    finally:
        server.shutdown()
        server.server_close()
    assert "403" in caught.value.message
    assert "MY_WRITE_TOKEN" in (caught.value.hint or "")
    assert "write_repository" in (caught.value.hint or "")
