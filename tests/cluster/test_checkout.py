"""The init container's checkout, run for real against the project's bare origin."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.cluster.conftest import CLUSTER_URL, redirect_to_origin
from tests.conftest import Project, commit_file


def test_checkout_lands_on_the_commit_with_notes_and_base_branches(
    cli, cluster_project: Project, tmp_path: Path
) -> None:
    git = cluster_project.git
    sha = git.out("rev-parse", "HEAD")
    git.run("notes", "--ref", "torchlane", "add", "-m", '{"accuracy": 0.9}', sha)
    git.run("push", "--quiet", "origin", "refs/notes/torchlane")
    result = cli(["cluster", "render", "eval", "--json"], cwd=cluster_project.root)
    assert result.code == 0, result.err
    # Later work on the branch must not leak into the job: it runs the rendered commit.
    commit_file(git, "later.py", "x = 1\n", "Later work")
    git.run("push", "--quiet")

    (job,) = json.loads(result.out)["documents"]
    (checkout,) = job["spec"]["template"]["spec"]["initContainers"]
    env = {e["name"]: e["value"] for e in checkout["env"]}
    assert env["TORCHLANE_REPOSITORY"] == CLUSTER_URL
    redirect_to_origin(cluster_project)  # what DNS and the git host do for a real pod
    workdir = tmp_path / "workspace" / "repo"
    env["TORCHLANE_WORKDIR"] = str(workdir)
    proc = subprocess.run(
        checkout["command"], env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"checked out {sha}" in proc.stdout

    def clone(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=workdir, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert clone("rev-parse", "HEAD") == sha
    assert clone("branch", "--show-current") == "feature/resnet-depth"
    assert clone("notes", "--ref", "torchlane", "show", sha) == '{"accuracy": 0.9}'
    assert clone("rev-parse", "develop") == git.out("rev-parse", "origin/develop")
    assert not (workdir / "later.py").exists()
