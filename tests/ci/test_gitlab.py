"""The generated GitLab pipeline: valid shell in every script, timeouts, cancellation, releases."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Project

JOB_KEYS = ("before_script", "script", "after_script")


def _pipeline(cli, project: Project, extra: str = "") -> dict[str, Any]:
    if extra:
        config = project.root / ".torchlane.toml"
        config.write_text(config.read_text() + extra)
    result = cli(["ci", "generate", "--provider", "gitlab"], cwd=project.root)
    assert result.code == 0, result.err
    return yaml.safe_load((project.root / ".gitlab-ci.yml").read_text())


def _jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in pipeline.items() if isinstance(v, dict) and "script" in v}


def _scripts(pipeline: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"{name}.{key}", line)
        for name, job in _jobs(pipeline).items()
        for key in JOB_KEYS
        for line in job.get(key, [])
    ]


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_every_script_line_is_valid_shell(cli, project: Project, shell: str) -> None:
    """GitLab runs each line as its own command; a heredoc or an open `if` breaks the job."""
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    for where, line in _scripts(_pipeline(cli, project)):
        done = subprocess.run(
            [shell, "-n", "-c", line], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{where}: {line}\n{done.stderr}"
        assert "<<" not in line, f"{where} has a heredoc"


def test_scripts_pass_shellcheck(cli, project: Project, tmp_path: Path) -> None:
    """Each job's before_script and script run in one shell, the after_script in another."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck)")
    for name, job in _jobs(_pipeline(cli, project)).items():
        for part, lines in (
            ("script", [*job.get("before_script", []), *job["script"]]),
            ("after_script", job.get("after_script", [])),
        ):
            if not lines:
                continue
            script = tmp_path / f"{name}-{part}.sh"
            script.write_text("#!/bin/sh\n" + "\n".join(lines) + "\n")
            done = subprocess.run(
                ["shellcheck", "--severity=warning", str(script)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, f"{name}.{part}:\n{done.stdout}"


def test_every_job_has_a_timeout_and_records_are_never_cancelled(cli, project: Project) -> None:
    pipeline = _pipeline(cli, project)
    jobs = _jobs(pipeline)
    assert all(job.get("timeout") for job in jobs.values())
    assert {n for n, j in jobs.items() if j["interruptible"] is False} == {
        "record",
        "record-main",
        "release-image",
    }
    workflow = pipeline["workflow"]
    assert workflow["auto_cancel"] == {"on_new_commit": "interruptible"}
    never = [r["if"] for r in workflow["rules"] if r.get("auto_cancel")]
    assert all(
        r["auto_cancel"] == {"on_new_commit": "none"}
        for r in workflow["rules"]
        if "auto_cancel" in r
    )
    assert '$CI_COMMIT_BRANCH == "develop"' in never
    assert '$CI_COMMIT_BRANCH == "main"' in never


def test_a_branch_with_an_open_merge_request_runs_one_pipeline(cli, project: Project) -> None:
    rules = [r["if"] for r in _pipeline(cli, project)["workflow"]["rules"]]
    topic = next(r for r in rules if "feature" in r)
    assert "$CI_OPEN_MERGE_REQUESTS == null" in topic
    assert '$CI_PIPELINE_SOURCE == "merge_request_event"' in rules


def test_main_and_tags_verify_and_record_the_release_baseline(cli, project: Project) -> None:
    jobs = _jobs(_pipeline(cli, project))
    assert "--context main --stage verify" in jobs["checks-main"]["script"][0]
    record = jobs["record-main"]
    assert "--context main --stage evaluate" in record["script"][0]
    assert record["script"][-1] == "python -m torchlane metrics push"
    assert [r["if"] for r in record["rules"]] == [
        '$CI_COMMIT_BRANCH == "main" && $CI_PIPELINE_SOURCE == "push"',
        "$CI_COMMIT_TAG =~ /^v\\d/",
    ]
    assert jobs["release-image"]["stage"] == "publish"  # after checks and record


def test_the_write_token_variable_is_configurable(cli, project: Project) -> None:
    pipeline = _pipeline(cli, project, '\n[ci]\ngitlab_token_variable = "ML_BOT_TOKEN"\n')
    jobs = _jobs(pipeline)
    text = (project.root / ".gitlab-ci.yml").read_text()
    assert "TORCHLANE_GITLAB_TOKEN" not in text
    assert "oauth2:${ML_BOT_TOKEN:-}@" in " ".join(jobs["record"]["script"])
    assert "--token-variable ML_BOT_TOKEN" in jobs["gate"]["after_script"][0]


def test_image_names_are_lowercased(cli, project: Project) -> None:
    jobs = _jobs(
        _pipeline(cli, project, '\n[ci]\nregistry_image = "Registry.Example.com/ML/Vision"\n')
    )
    assert "IMAGE=registry.example.com/ml/vision" in jobs["release-image"]["script"]


def test_the_registrys_image_path_is_lowercased_in_the_job(cli, project: Project) -> None:
    script = _jobs(_pipeline(cli, project))["release-image"]["script"]
    line = next(x for x in script if x.startswith("IMAGE="))
    done = subprocess.run(
        ["sh", "-c", f'{line}; printf %s "$IMAGE"'],
        env={"CI_REGISTRY_IMAGE": "registry.gitlab.com/ML-Team/Vision", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout == "registry.gitlab.com/ml-team/vision"


def test_the_note_poster_says_what_to_set_without_a_token(tmp_path: Path) -> None:
    from torchlane.ci.gitlab_note import post_note

    report = tmp_path / "report.md"
    report.write_text("## gate passed\n")
    said = post_note(report, "ML_BOT_TOKEN", {})
    assert "ML_BOT_TOKEN is not set" in said


def test_the_note_poster_creates_then_updates_one_note(tmp_path: Path) -> None:
    """Against a local HTTP server that keeps notes as GitLab's API does."""
    import http.server
    import json
    import threading

    notes: list[dict[str, Any]] = []
    seen_tokens: list[str] = []

    class Api(http.server.BaseHTTPRequestHandler):
        def _reply(self, data: object) -> None:
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> dict[str, Any]:
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def do_GET(self) -> None:
            seen_tokens.append(self.headers["PRIVATE-TOKEN"])
            self._reply(notes)

        def do_POST(self) -> None:
            notes.append({"id": len(notes) + 1, "body": self._body()["body"]})
            self._reply(notes[-1])

        def do_PUT(self) -> None:
            note_id = int(self.path.rsplit("/", 1)[1])
            notes[note_id - 1]["body"] = self._body()["body"]
            self._reply(notes[note_id - 1])

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from torchlane.ci.gitlab_note import post_note

    env = {
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
        "CI_PROJECT_ID": "12",
        "CI_MERGE_REQUEST_IID": "7",
        "ML_BOT_TOKEN": "glpat-test",
    }
    report = tmp_path / "report.md"
    try:
        report.write_text("first\n")
        assert "Posted the report as note 1" in post_note(report, "ML_BOT_TOKEN", env)
        report.write_text("second\n")
        assert "Updated the report note 1" in post_note(report, "ML_BOT_TOKEN", env)
    finally:
        server.shutdown()
        server.server_close()
    assert len(notes) == 1
    assert notes[0]["body"].endswith("second\n")
    assert set(seen_tokens) == {"glpat-test"}
