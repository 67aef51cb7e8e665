"""`torchlane finish` of a release binds the evaluated checkpoint to the tag (git notes)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project
from tests.models.conftest import release, train_and_evaluate
from torchlane.fingerprint import sha256_file
from torchlane.git import Git

pytestmark = pytest.mark.slow


def test_release_binds_the_evaluated_checkpoint(model_project: Project, cli) -> None:
    root = model_project.root
    finished = release(cli, model_project, "v1.0.0")
    assert finished.code == 0, finished.err
    assert "bound v1.0.0 to checkpoint sha256" in finished.out
    shown = cli(["model", "show", "v1.0.0", "--json"], cwd=root)
    assert shown.code == 0, shown.err
    binding = json.loads(shown.out)
    git = model_project.git
    assert binding["tag"] == "v1.0.0"
    assert binding["commit"] == git.out("rev-parse", "v1.0.0^{commit}")
    checkpoint = root / "checkpoints" / "model.pt"
    assert binding["digest"] == sha256_file(checkpoint)
    assert binding["size"] == checkpoint.stat().st_size
    assert set(binding["metrics"]) == {"accuracy"}
    assert binding["evaluation"]["checkpoint_sha256"] == binding["weights_digest"]
    assert binding["environment"]["torch"]
    assert binding["run"]["output"] == "checkpoints/model.pt"
    assert binding["run"]["seed"] == 7
    # The binding is a note on the tag's commit under its own ref.
    note = git.out("notes", "--ref", "refs/notes/torchlane-models", "show", "v1.0.0^{commit}")
    assert json.loads(note)["digest"] == binding["digest"]
    # finish kept a copy of exactly the evaluated bytes for `model push`.
    cached = git.git_dir() / "torchlane" / "models" / "sha256" / binding["digest"]
    assert sha256_file(cached) == binding["digest"]
    listed = json.loads(cli(["model", "list", "--json"], cwd=root).out)
    assert [(b["tag"], b["digest"]) for b in listed] == [("v1.0.0", binding["digest"])]


def test_release_without_an_evaluation_is_refused_then_bound_with_no_model(
    model_project: Project, cli
) -> None:
    root, git = model_project.root, model_project.git
    assert cli(["start", "release", "v1.0.0"], cwd=root).code == 0
    refs_before = git.out("for-each-ref")
    refused = cli(["finish", "release/v1.0.0"], cwd=root)
    assert refused.code == 1
    assert "has no evaluated checkpoint" in refused.err
    assert "torchlane eval" in refused.err
    assert "--no-model" in refused.err
    assert git.out("for-each-ref") == refs_before  # nothing moved, no tag
    done = cli(["finish", "release/v1.0.0", "--no-model"], cwd=root)
    assert done.code == 0, done.err
    assert "v1.0.0 released without a model" in done.out
    binding = json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=root).out)
    assert binding["no_model"] is True
    assert binding["digest"] is None
    pulled = cli(["model", "pull", "v1.0.0"], cwd=root)
    assert pulled.code == 1
    assert "released without a model" in pulled.err


def test_a_checkpoint_changed_after_its_evaluation_is_refused(model_project: Project, cli) -> None:
    root, git = model_project.root, model_project.git
    assert cli(["start", "release", "v1.0.0"], cwd=root).code == 0
    train_and_evaluate(cli, root)
    checkpoint = root / "checkpoints" / "model.pt"
    import torch

    torch.save({"retrained": torch.zeros(3)}, checkpoint)  # other weights than the evaluated ones
    refused = cli(["finish", "release/v1.0.0"], cwd=root)
    assert refused.code == 1
    assert "changed since it was evaluated" in refused.err
    assert git.rev("refs/tags/v1.0.0") is None


def test_no_model_is_refused_for_a_topic_branch(model_project: Project, cli) -> None:
    root = model_project.root
    assert cli(["start", "feature", "wider"], cwd=root).code == 0
    refused = cli(["finish", "feature/wider", "--no-model"], cwd=root)
    assert refused.code == 2
    assert "--no-model is for release and hotfix branches" in refused.err


def test_finish_push_shares_the_binding_with_the_tag(
    model_project: Project, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCHLANE_ALLOW_PUSH", "1")  # a release manager pushes main directly
    root = model_project.root
    assert cli(["start", "release", "v1.0.0"], cwd=root).code == 0
    train_and_evaluate(cli, root)
    finished = cli(["finish", "release/v1.0.0", "--push"], cwd=root)
    assert finished.code == 0, finished.err
    origin = Git(model_project.origin)
    local = model_project.git.rev("refs/notes/torchlane-models")
    assert origin.rev("refs/notes/torchlane-models") == local
    assert origin.rev("refs/tags/v1.0.0") is not None
    assert "model push" not in finished.out  # nothing left to do by hand
    assert "Uploaded the checkpoint to the model store" in finished.out
    binding = json.loads(cli(["model", "show", "v1.0.0", "--json"], cwd=root).out)
    stored = root.parent / "store" / "sha256" / binding["digest"]
    assert sha256_file(stored) == binding["digest"]
