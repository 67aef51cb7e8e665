"""A team's week with torchlane (issue 12), in real repositories: a bare origin and two clones.

Monday, Alice adopts torchlane in the team's existing repository (the demo's digits classifier),
records the first baseline and shares it. Both clones install the hooks and the notebook filter.
Bob commits a notebook with outputs: it is stored stripped and keeps its outputs on disk. Alice's
feature that breaks the preprocessing is refused at finish; Bob's wider model is published and
finished. Then a release and a hotfix. The local CI runs after each change, and its cache is
invalidated exactly when one of a stage's inputs changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import torchlane
from tests.conftest import commit_file
from torchlane.ci.pipeline import run_ci
from torchlane.ci.runner import StageStatus
from torchlane.demo.quality import break_preprocessing, copy_sample_project, widen_model
from torchlane.git import Git
from torchlane.project import open_project

pytest.importorskip("torch")
pytest.importorskip("sklearn")

pytestmark = pytest.mark.slow
RELEASE_MANAGER = {"TORCHLANE_ALLOW_PUSH": "1"}


@pytest.fixture(autouse=True)
def absolute_pythonpath(monkeypatch: pytest.MonkeyPatch) -> None:
    """git starts the hooks and the filter: they must import this torchlane."""
    source = str(Path(torchlane.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]))


def torchlane_in(root: Path, *args: str, env: dict[str, str] | None = None, code: int = 0) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "torchlane", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == code, f"torchlane {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def ci(root: Path, *stages: str) -> dict[str, StageStatus]:
    result, _ = run_ci(open_project(root), only=stages)
    return {s.name: s.status for s in result.stages}


def notebook(text: str, source: str = "print(f'accuracy {accuracy}')") -> str:
    cell = {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"{text}\n"]}],
            "source": [source]}  # fmt: skip
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1) + "\n"  # fmt: skip


def test_a_team_week(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    Git(tmp_path).run("init", "--quiet", "--bare", "--initial-branch", "main", str(origin))
    alice_root, bob_root = tmp_path / "alice", tmp_path / "bob"

    # An existing repository, before torchlane: a README and the model code on main.
    alice_root.mkdir()
    alice = Git(alice_root)
    alice.run("init", "--quiet", "--initial-branch", "main")
    commit_file(alice, "README.md", "# digits\n", "Initial commit")
    alice.run("remote", "add", "origin", str(origin))
    alice.run("push", "--quiet", "origin", "main")

    # Monday: Alice adopts torchlane (today's `init`), the hooks and the filter.
    torchlane_in(alice_root, "init")
    torchlane_in(alice_root, "hooks", "install")
    torchlane_in(alice_root, "nb", "install-filter")
    alice.run("add", "--", ".gitattributes", *copy_sample_project(alice_root))
    alice.run("commit", "--quiet", "-m", "Adopt torchlane: the classifier, its eval and gate")
    torchlane_in(alice_root, "eval")  # the first baseline, in git notes
    alice.run("push", "--quiet", "origin", "main", "develop", env=RELEASE_MANAGER)
    torchlane_in(alice_root, "metrics", "push")

    # The local CI on develop: everything runs once, then the cache answers.
    assert set(ci(alice_root, "env", "notebooks").values()) == {StageStatus.PASSED}
    assert set(ci(alice_root, "env", "notebooks").values()) == {StageStatus.CACHED}

    # Bob clones, installs the same hooks and filter, and commits a notebook with outputs.
    Git(tmp_path).run("clone", "--quiet", "--branch", "develop", str(origin), str(bob_root))
    bob = Git(bob_root)
    bob.run("branch", "--quiet", "--track", "main", "origin/main")
    torchlane_in(bob_root, "hooks", "install")
    torchlane_in(bob_root, "nb", "install-filter")
    torchlane_in(bob_root, "metrics", "pull")
    torchlane_in(bob_root, "start", "feature", "wider-hidden-layer")
    explore = bob_root / "explore.ipynb"
    explore.write_text(notebook("accuracy 0.95"), encoding="utf-8")
    bob.run("add", "explore.ipynb")
    bob.run("commit", "--quiet", "-m", "Explore the errors")  # the hooks pass the stripped blob
    assert "accuracy 0.95\\n" in explore.read_text(encoding="utf-8")
    assert '"outputs": []' in bob.run("show", "HEAD:explore.ipynb").stdout
    # The CI: a notebook changed, so only the notebooks stage re-runs (env is still cached).
    assert ci(bob_root, "env", "notebooks") == {
        "env": StageStatus.PASSED, "notebooks": StageStatus.PASSED}  # fmt: skip
    assert ci(bob_root, "env", "notebooks") == {
        "env": StageStatus.CACHED, "notebooks": StageStatus.CACHED}  # fmt: skip
    explore.write_text(notebook("accuracy 0.96"), encoding="utf-8")  # a re-run: outputs only
    # git hashes the notebook through the filter: new outputs are no change to what is committed.
    assert ci(bob_root, "notebooks")["notebooks"] is StageStatus.CACHED
    edited = notebook("accuracy 0.97", source="print(accuracy)")  # a real edit, then a stash
    explore.write_text(edited, encoding="utf-8")
    bob.run("stash", "--quiet")
    assert "accuracy 0.96\\n" in explore.read_text(encoding="utf-8")  # the latest committed run
    bob.run("stash", "pop", "--quiet")
    assert explore.read_text(encoding="utf-8") == edited  # outputs survive the stash
    bob.run("checkout", "--", "explore.ipynb")

    # Tuesday: Alice's preprocessing change degrades the model; finish refuses it.
    torchlane_in(alice_root, "start", "feature", "normalise-pixels")
    alice.run("add", "--", *break_preprocessing(alice_root))
    alice.run("commit", "--quiet", "-m", "Normalise pixels to [0, 1]")
    torchlane_in(alice_root, "eval")
    refused = torchlane_in(alice_root, "finish", code=1)
    assert "failed the merge gate" in refused
    assert "accuracy" in refused
    assert "--skip-gate" in refused
    assert alice.rev("develop") == Git(origin).rev("develop")
    alice.run("switch", "--quiet", "develop")
    # A plain push of develop is refused by the hook, so no advice ever suggests one.
    commit_file(alice, "NOTES.md", "a note\n", "A note straight on develop")
    assert not alice.run("push", "origin", "develop", check=False).ok
    alice.run("reset", "--quiet", "--hard", "HEAD~1")

    # Wednesday: Bob's wider model is better: published, evaluated, finished by a maintainer.
    bob.run("add", "--", *widen_model(bob_root))
    bob.run("commit", "--quiet", "-m", "Widen the hidden layer")
    torchlane_in(bob_root, "publish")
    torchlane_in(bob_root, "eval")
    torchlane_in(bob_root, "gate")
    finished = torchlane_in(bob_root, "finish", "--push", env=RELEASE_MANAGER)
    assert "Finished feature/wider-hidden-layer" in finished
    assert bob.rev("develop") == Git(origin).rev("develop")
    assert "accuracy 0.96\\n" in explore.read_text(encoding="utf-8")  # through the merge too

    # Thursday: a release, and a hotfix on top of it.
    torchlane_in(bob_root, "start", "release", "1.0.0")
    commit_file(bob, "VERSION", "1.0.0\n", "Version 1.0.0")
    torchlane_in(bob_root, "eval")  # the release ships the model this evaluation measured
    released = torchlane_in(bob_root, "finish", "--push", env=RELEASE_MANAGER)
    assert "bound v1.0.0 to checkpoint sha256" in released
    torchlane_in(bob_root, "start", "hotfix", "1.0.1")
    commit_file(bob, "VERSION", "1.0.1\n", "Version 1.0.1")
    # A fix of the version file only: released explicitly without a (new) model.
    torchlane_in(bob_root, "finish", "--push", "--no-model", env=RELEASE_MANAGER)
    tags = Git(origin).lines("tag", "--list")
    assert tags == ["v1.0.0", "v1.0.1"]

    # Friday: Alice syncs; an environment change re-runs env (and only env), which catches it.
    alice.run("pull", "--quiet", "--ff-only", "origin", "develop")
    # The week brought a notebook but no environment file: notebooks re-runs, env stays cached.
    assert ci(alice_root, "env", "notebooks") == {
        "env": StageStatus.CACHED, "notebooks": StageStatus.PASSED}  # fmt: skip
    (alice_root / "constraints.txt").write_text("torch==1.0.0\n", encoding="utf-8")
    alice.run("add", "constraints.txt")
    statuses = ci(alice_root, "env", "notebooks")
    assert statuses["notebooks"] is StageStatus.CACHED
    assert statuses["env"] in (StageStatus.PASSED, StageStatus.FAILED)  # re-run, not cached
    torchlane_in(alice_root, "verify")
