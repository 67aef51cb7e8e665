"""Finding, producing and loading checkpoints, and the errors when they are wrong."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest
import torch

from tests.evaluate.conftest import SampleRepo
from tests.evaluate.helpers import evaluate_in, write_eval_config
from torchlane.errors import TorchlaneError
from torchlane.evaluate.checkpoint import find_checkpoint, run_checkpoint_command, weights_digest
from torchlane.fingerprint import sha256_file


def _touch(path: Path, mtime: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(path.name.encode())
    os.utime(path, (mtime, mtime))
    return path


def test_glob_picks_the_newest_file(tmp_path: Path) -> None:
    _touch(tmp_path / "runs" / "a" / "epoch-9.pt", 1_000_000)
    newest = _touch(tmp_path / "runs" / "b" / "epoch-2.pt", 3_000_000)
    _touch(tmp_path / "runs" / "c" / "epoch-5.pt", 2_000_000)
    assert find_checkpoint(tmp_path, "runs/**/*.pt") == newest
    os.utime(tmp_path / "runs" / "a" / "epoch-9.pt", (4_000_000, 4_000_000))
    assert find_checkpoint(tmp_path, "runs/**/*.pt") == tmp_path / "runs" / "a" / "epoch-9.pt"


def test_glob_matching_nothing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TorchlaneError, match=r"No checkpoint matches 'checkpoints/\*\.pt'"):
        find_checkpoint(tmp_path, "checkpoints/*.pt")


def test_missing_checkpoint_names_the_path(sample_repo: SampleRepo, tmp_path: Path) -> None:
    write_eval_config(sample_repo.root, checkpoint_command=None, checkpoint="weights/best.pt")
    with pytest.raises(TorchlaneError, match=r"weights/best\.pt does not exist") as error:
        evaluate_in(sample_repo.root, tmp_path)
    assert "checkpoint_command" in str(error.value.hint)


@pytest.mark.parametrize("as_string", [False, True])
def test_checkpoint_command_runs_in_the_project_root(
    sample_repo: SampleRepo, tmp_path: Path, as_string: bool
) -> None:
    command = [sys.executable, "fetch.py"]
    write_eval_config(
        sample_repo.root, checkpoint_command=shlex.join(command) if as_string else command
    )
    assert not sample_repo.checkpoint.exists()
    result = evaluate_in(sample_repo.root, tmp_path)
    assert sample_repo.checkpoint.exists()
    assert result.checkpoint_sha256 == weights_digest(sample_repo.checkpoint)


def test_checkpoint_command_failure_shows_exit_code_and_output(tmp_path: Path) -> None:
    script = "print('downloading shard 1'); print('shard 2: HTTP 403'); raise SystemExit(3)"
    with pytest.raises(TorchlaneError) as error:
        run_checkpoint_command([sys.executable, "-c", script], tmp_path, timeout_s=60)
    message = error.value.message
    assert "failed with exit code 3" in message
    assert "downloading shard 1" in message
    assert "shard 2: HTTP 403" in message


def test_checkpoint_command_that_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(TorchlaneError, match="could not start"):
        run_checkpoint_command([str(tmp_path / "no-such-program")], tmp_path, timeout_s=60)


def test_checkpoint_command_timeout(tmp_path: Path) -> None:
    with pytest.raises(TorchlaneError, match=r"did not finish within 0.5 s"):
        run_checkpoint_command(
            [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, timeout_s=0.5
        )


def _truncated(path: Path, good: Path) -> None:
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _text(path: Path, good: Path) -> None:
    path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "utf-8")


def _other_model(path: Path, good: Path) -> None:
    torch.save({"encoder.weight": torch.zeros(3, 3)}, path)


def _not_a_state_dict(path: Path, good: Path) -> None:
    torch.save(torch.zeros(3), path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncated, "cannot be read as PyTorch weights"),
        (_text, "cannot be read as PyTorch weights"),
        (_other_model, "does not fit the model"),
        (_not_a_state_dict, "does not hold a state_dict"),
    ],
)
def test_corrupt_checkpoints_are_clear_errors(
    sample_repo: SampleRepo, tmp_path: Path, place_checkpoint, damage, message: str
) -> None:
    write_eval_config(sample_repo.root, checkpoint_command=None)
    checkpoint = place_checkpoint(sample_repo.root)
    good = tmp_path / "good.pt"
    good.write_bytes(checkpoint.read_bytes())
    damage(checkpoint, good)
    with pytest.raises(TorchlaneError, match=message) as error:
        evaluate_in(sample_repo.root, tmp_path / "state")
    assert str(checkpoint) in error.value.message


def test_state_dict_inside_a_training_checkpoint(
    sample_repo: SampleRepo, tmp_path: Path, place_checkpoint
) -> None:
    write_eval_config(sample_repo.root, checkpoint_command=None)
    checkpoint = place_checkpoint(sample_repo.root)
    plain = evaluate_in(sample_repo.root, tmp_path / "a")
    state = torch.load(checkpoint, weights_only=True)
    torch.save({"model": state, "epoch": 4}, checkpoint)
    with pytest.raises(TorchlaneError, match="holds a training checkpoint") as error:
        evaluate_in(sample_repo.root, tmp_path / "b")
    assert "state_dict_key = 'model'" in str(error.value.hint)
    write_eval_config(sample_repo.root, state_dict_key="optimizer")
    with pytest.raises(TorchlaneError, match=r"has no entry 'optimizer' \(it has: epoch, model\)"):
        evaluate_in(sample_repo.root, tmp_path / "c")
    write_eval_config(sample_repo.root, state_dict_key="model")
    assert evaluate_in(sample_repo.root, tmp_path / "d").metrics == plain.metrics


def test_checkpoint_command_output_streams_to_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    script = "import sys; print('epoch 1 loss 0.9'); print('warn', file=sys.stderr)"
    run_checkpoint_command([sys.executable, "-c", script], tmp_path, timeout_s=60)
    out, err = capfd.readouterr()
    assert "epoch 1 loss 0.9" in err
    assert "warn" in err
    assert "epoch 1" not in out  # stdout stays torchlane's own (`--json`)


def test_checkpoint_command_output_arrives_while_it_runs(tmp_path: Path) -> None:
    """The command waits for a file that only the handler of its first line creates: without
    streaming it would wait until killed."""
    from torchlane import proc

    flag = tmp_path / "seen"
    script = (
        "import os, sys, time\n"
        "print('started', flush=True)\n"
        f"deadline = time.time() + 20\n"
        f"while not os.path.exists({str(flag)!r}):\n"
        "    if time.time() > deadline: sys.exit(9)\n"
        "    time.sleep(0.02)\n"
    )
    seen: list[bytes] = []

    def echo(line: bytes) -> None:
        seen.append(line)
        flag.touch()

    result = proc.tee([sys.executable, "-c", script], echo=echo, timeout=30)
    assert result.returncode == 0
    assert seen == [b"started\n"]


def test_misspelt_metric_is_reported_before_the_checkpoint_command_runs(
    sample_repo: SampleRepo, tmp_path: Path
) -> None:
    marker = tmp_path / "trained"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    write_eval_config(
        sample_repo.root,
        checkpoint_command=command,
        metrics={"accuracy": "evaluate:accuracy", "macro_f1": "evaluate:macro_f11"},
    )
    with pytest.raises(TorchlaneError, match=r"metrics\.macro_f1 = 'evaluate:macro_f11'"):
        evaluate_in(sample_repo.root, tmp_path / "state")
    assert not marker.exists()  # nothing trained for a configuration that cannot evaluate
    write_eval_config(sample_repo.root, model="no_such_module:build")
    with pytest.raises(TorchlaneError, match="no module 'no_such_module'"):
        evaluate_in(sample_repo.root, tmp_path / "state")
    assert not marker.exists()


def test_checkpoint_command_is_skipped_while_its_inputs_are_unchanged(
    sample_repo: SampleRepo, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"  # outside the project: counting does not change its inputs
    count = f"{shlex.quote(sys.executable)} -c \"open({str(runs)!r}, 'a').write('x')\""
    write_eval_config(sample_repo.root, checkpoint_command=f"python fetch.py && {count}")
    sample_repo.git.run("commit", "--quiet", "-am", "Count the checkpoint command's runs")
    state = tmp_path / "state"

    def runs_after(**kwargs: object) -> int:
        evaluate_in(sample_repo.root, state, **kwargs)
        return len(runs.read_text()) if runs.exists() else 0

    assert runs_after() == 1
    assert runs_after() == 1  # same commit, same files, weights still there: not run again
    fetch = sample_repo.root / "fetch.py"
    fetch.write_text(fetch.read_text("utf-8") + "# changed\n", "utf-8")
    assert runs_after() == 2  # an edited input (uncommitted, too) runs it again
    assert runs_after() == 2
    (sample_repo.root / "notes.txt").write_text("new file\n", "utf-8")
    assert runs_after() == 3  # a new untracked file is an input too
    sample_repo.checkpoint.write_bytes(b"overwritten")
    assert runs_after() == 4  # weights that are not what it made: made again
    sample_repo.checkpoint.unlink()
    assert runs_after() == 5
    assert runs_after(use_cache=False) == 6  # --no-cache always runs it


def test_weights_digest_is_of_the_weights_not_the_file_name(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    first, second = tmp_path / "model.pt", tmp_path / "renamed-best.pt"
    torch.save(model.state_dict(), first)
    torch.save(model.state_dict(), second)
    # torch.save embeds the file stem: the files differ, the weights do not.
    assert sha256_file(first) != sha256_file(second)
    assert weights_digest(first) == weights_digest(second)
    with torch.no_grad():
        model[0].weight[0, 0] += 1e-3
    changed = tmp_path / "changed.pt"
    torch.save(model.state_dict(), changed)
    assert weights_digest(changed) != weights_digest(first)
    # same bytes, another dtype or shape: another digest
    as_double = tmp_path / "double.pt"
    torch.save({k: v.double() for k, v in model.state_dict().items()}, as_double)
    assert weights_digest(as_double) != weights_digest(changed)
    # a training checkpoint that nests the state_dict is digested too, in key order
    nested_a, nested_b = tmp_path / "a.pt", tmp_path / "b.pt"
    state = model.state_dict()
    torch.save({"model": state, "epoch": 3}, nested_a)
    torch.save({"epoch": 3, "model": dict(reversed(list(state.items())))}, nested_b)
    assert weights_digest(nested_a) == weights_digest(nested_b)


def test_weights_digest_of_another_format_hashes_its_bytes(tmp_path: Path) -> None:
    other = tmp_path / "model.onnx"
    other.write_bytes(b"not a torch file")
    again = tmp_path / "copy.onnx"
    again.write_bytes(b"not a torch file")
    assert weights_digest(other) == weights_digest(again)
    assert weights_digest(other) != sha256_file(other)  # its own header: never a weights digest
    assert len(weights_digest(other)) == 64
