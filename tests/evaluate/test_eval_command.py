"""`torchlane eval [REV]` end to end: real git, real notes, real PyTorch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import commit_file
from tests.evaluate.conftest import SampleRepo
from tests.evaluate.helpers import write_eval_config
from torchlane.errors import EXIT_FAILURE, EXIT_USAGE
from torchlane.evaluate.checkpoint import weights_digest
from torchlane.metrics.signing import KEY_VARIABLE, generate_key, ssh_keygen
from torchlane.metrics.store import read_records


def _eval(cli, repo: SampleRepo, *args: str) -> dict[str, Any]:
    result = cli(["eval", "--json", *args], cwd=repo.root)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_eval_head_records_a_note(cli, sample_repo: SampleRepo) -> None:
    shown = _eval(cli, sample_repo)
    head = sample_repo.git.out("rev-parse", "HEAD")
    records = read_records(sample_repo.git, "HEAD").records
    assert len(records) == 1
    record = records[0]
    assert record.commit == head
    assert record.metrics == shown["record"]["metrics"]
    assert record.checkpoint_sha256 == weights_digest(sample_repo.checkpoint)
    assert record.checkpoint_path == "checkpoints/model.pt"
    assert record.data_fingerprint is not None
    assert len(record.data_fingerprint) == 64
    assert record.environment["torch"] == torch.__version__
    assert record.environment["device"] == "cpu"
    assert record.dirty is False
    assert record.branch == "main"
    assert record.seed == 0
    assert record.per_example is not None
    assert len(record.per_example.values) == 450
    assert (shown["cached"], shown["recorded"], shown["in_worktree"]) == (False, True, False)


def test_dirty_tree_is_flagged(cli, sample_repo: SampleRepo) -> None:
    readme = sample_repo.root / "evaluate.py"
    readme.write_text(readme.read_text("utf-8") + "\n# experiment\n", "utf-8")
    shown = _eval(cli, sample_repo)
    assert shown["record"]["dirty"] is True
    assert read_records(sample_repo.git, "HEAD").records[0].dirty is True


def test_cache_hit_records_once_per_commit(cli, sample_repo: SampleRepo) -> None:
    _eval(cli, sample_repo)
    again = _eval(cli, sample_repo)
    assert (again["cached"], again["recorded"]) == (True, False)
    assert len(read_records(sample_repo.git, "HEAD").records) == 1

    commit_file(sample_repo.git, "README.md", "# digits\n", "Describe the project")
    next_commit = _eval(cli, sample_repo)
    assert (next_commit["cached"], next_commit["recorded"]) == (True, True)
    records = read_records(sample_repo.git, "HEAD").records
    assert len(records) == 1
    assert records[0].commit == sample_repo.git.out("rev-parse", "HEAD")


def test_in_ci_the_job_records_its_own_evaluation_after_a_pushed_one(
    cli, sample_repo: SampleRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A record already in the notes ref for this commit (anyone's, possibly forged) must not
    # stand in for the CI job's own: the gate reads the last record as the candidate.
    _eval(cli, sample_repo)
    monkeypatch.setenv("CI", "true")
    again = _eval(cli, sample_repo)
    assert again["recorded"] is True
    records = read_records(sample_repo.git, "HEAD").records
    assert len(records) == 2
    assert records[-1].metrics == again["record"]["metrics"]


def test_a_signing_key_records_a_signed_evaluation_beside_an_unsigned_one(
    cli, sample_repo: SampleRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if ssh_keygen() is None:
        pytest.skip("ssh-keygen is not installed: signing cannot be tested")
    _eval(cli, sample_repo)  # a developer's unsigned record of the same evaluation
    key = generate_key(tmp_path / "ci_key", "ci@example.com")
    monkeypatch.setenv(KEY_VARIABLE, str(key.private_key))
    again = _eval(cli, sample_repo)
    assert again["recorded"] is True
    records = read_records(sample_repo.git, "HEAD").records
    assert [r.signature is not None for r in records] == [False, True]
    assert _eval(cli, sample_repo)["recorded"] is False  # the signed one is there now


def test_no_record_and_no_cache(cli, sample_repo: SampleRepo) -> None:
    shown = _eval(cli, sample_repo, "--no-record")
    assert shown["recorded"] is False
    assert read_records(sample_repo.git, "HEAD").records == []
    fresh = _eval(cli, sample_repo, "--no-cache", "--no-record")
    assert fresh["cached"] is False
    assert fresh["record"]["metrics"] == shown["record"]["metrics"]


def test_eval_rev_uses_a_temporary_worktree(cli, sample_repo: SampleRepo) -> None:
    git = sample_repo.git
    first = git.out("rev-parse", "HEAD")
    evaluate_py = sample_repo.root / "evaluate.py"
    evaluate_py.write_text(
        evaluate_py.read_text("utf-8")
        + "\n\ndef error_rate(outputs, targets):\n    return 1.0 - accuracy(outputs, targets)\n",
        "utf-8",
    )
    write_eval_config(
        sample_repo.root,
        metrics={"accuracy": "evaluate:accuracy", "error_rate": "evaluate:error_rate"},
    )
    git.run("commit", "--quiet", "-am", "Report the error rate")

    shown = _eval(cli, sample_repo, first)
    assert shown["in_worktree"] is True
    assert shown["record"]["commit"] == first
    assert set(shown["record"]["metrics"]) == {"accuracy", "macro_f1"}  # that commit's config
    assert read_records(git, first).records[0].dirty is False
    assert read_records(git, "HEAD").records == []
    assert len(git.lines("worktree", "list")) == 1  # the temporary worktree is gone
    assert not sample_repo.checkpoint.exists()  # produced inside the worktree, not here

    current = _eval(cli, sample_repo)
    assert set(current["record"]["metrics"]) == {"accuracy", "error_rate"}
    assert current["record"]["metrics"]["error_rate"] == pytest.approx(
        1 - shown["record"]["metrics"]["accuracy"]
    )


def test_eval_rev_failure_removes_the_worktree(cli, sample_repo: SampleRepo) -> None:
    git = sample_repo.git
    first = git.out("rev-parse", "HEAD")
    write_eval_config(sample_repo.root, checkpoint_command=None)
    git.run("commit", "--quiet", "-am", "Stop fetching weights")
    result = cli(["eval", "HEAD~0"], cwd=sample_repo.root)  # HEAD by another name: in place
    assert result.code == EXIT_FAILURE
    assert "checkpoints/model.pt does not exist" in result.err
    write_eval_config(sample_repo.root, checkpoint="nowhere/*.pt")
    git.run("commit", "--quiet", "-am", "Look elsewhere")
    dirty = sample_repo.root / "model.py"
    dirty.write_text(dirty.read_text("utf-8") + "\n", "utf-8")
    result = cli(["eval", "HEAD"], cwd=sample_repo.root)
    assert result.code == EXIT_FAILURE
    result = cli(["eval", "main~1"], cwd=sample_repo.root)
    assert result.code == EXIT_FAILURE
    assert "checkpoints/model.pt does not exist" in result.err
    assert len(git.lines("worktree", "list")) == 1
    assert read_records(git, first).records == []


def test_bad_inputs(cli, sample_repo: SampleRepo) -> None:
    result = cli(["eval", "no-such-branch"], cwd=sample_repo.root)
    assert result.code == EXIT_FAILURE
    assert "'no-such-branch' is not a commit" in result.err
    result = cli(["eval", "--device", "tpu"], cwd=sample_repo.root)
    assert result.code == EXIT_USAGE
    write_eval_config(sample_repo.root, model="model.build_model")
    result = cli(["eval"], cwd=sample_repo.root)
    assert result.code == EXIT_FAILURE
    assert "[tool.torchlane.eval] model" in result.err
    assert "module:function" in result.err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_missing_gpu_is_a_clear_error(cli, sample_repo: SampleRepo) -> None:
    result = cli(["eval", "--device", "cuda"], cwd=sample_repo.root)
    assert result.code == EXIT_FAILURE
    assert "sees no CUDA GPU" in result.err


def test_no_evaluation_configured(cli, sample_repo: SampleRepo) -> None:
    write_eval_config(sample_repo.root, model=None, data=None)
    result = cli(["eval"], cwd=sample_repo.root)
    assert result.code == EXIT_FAILURE
    assert "names neither an evaluation entry point nor a model and data" in result.err
    assert not sample_repo.checkpoint.exists()  # checked before running the command


def test_human_output(cli, sample_repo: SampleRepo) -> None:
    result = cli(["eval"], cwd=sample_repo.root)
    assert result.code == 0, result.err
    assert "accuracy" in result.out
    assert "macro_f1" in result.out
    assert "Recorded in git notes" in result.out


def test_checkpoint_command_output_goes_to_stderr_and_is_skipped_when_unchanged(
    cli, sample_repo: SampleRepo
) -> None:
    result = cli(["eval", "--json", "--no-record"], cwd=sample_repo.root)
    assert result.code == 0, result.err
    assert json.loads(result.out)["cached"] is False  # stdout is only the JSON
    assert "fetched the weights" in result.err  # the command's own output, streamed
    again = cli(["eval", "--json", "--no-record"], cwd=sample_repo.root)
    assert again.code == 0, again.err
    assert json.loads(again.out)["cached"] is True
    assert "fetched the weights" not in again.err
    assert "checkpoint command is skipped" in again.err
