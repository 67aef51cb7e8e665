"""The evaluation cache: a hit when nothing that matters changed, a miss for each thing that does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.evaluate.conftest import SampleRepo
from tests.evaluate.helpers import evaluate_in, write_eval_config


@pytest.fixture
def repo(sample_repo: SampleRepo, place_checkpoint) -> SampleRepo:
    """The sample with its checkpoint in place and data files named in data_paths."""
    root = sample_repo.root
    (root / "valdata").mkdir()
    (root / "valdata" / "labels.csv").write_text("id,label\n0,3\n", "utf-8")
    write_eval_config(root, checkpoint_command=None, data_fingerprint=None, data_paths=["valdata"])
    place_checkpoint(root)
    return sample_repo


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text("utf-8") + text, "utf-8")


def _perturb_weights(root: Path) -> None:
    path = root / "checkpoints" / "model.pt"
    state = torch.load(path, weights_only=True)
    first = next(iter(state))
    state[first] = state[first] + 0.01
    torch.save(state, path)


CHANGES: dict[str, Callable[[Path], object]] = {
    "seed": lambda root: write_eval_config(root, seed=1),
    "batch size": lambda root: write_eval_config(root, batch_size=100),
    "autocast": lambda root: write_eval_config(root, autocast="bfloat16"),
    "data": lambda root: _append(root / "valdata" / "labels.csv", "1,7\n"),
    "new data file": lambda root: (root / "valdata" / "more.csv").write_text("2,1\n", "utf-8"),
    "metric code": lambda root: _append(root / "evaluate.py", "\n# tweak\n"),
    "model code": lambda root: _append(root / "model.py", "\nDROPOUT = 0.0\n"),
    "metric set": lambda root: write_eval_config(root, metrics={"accuracy": "evaluate:accuracy"}),
    "checkpoint": _perturb_weights,
}


def test_nothing_changed_is_a_hit(repo: SampleRepo, tmp_path: Path) -> None:
    fresh = evaluate_in(repo.root, tmp_path)
    again = evaluate_in(repo.root, tmp_path)
    assert (fresh.cached, again.cached) == (False, True)
    assert again.key == fresh.key
    assert again.metrics == fresh.metrics
    assert again.per_example == fresh.per_example
    assert again.duration_s == fresh.duration_s  # the original evaluation's time, kept


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_key_component_invalidates(repo: SampleRepo, tmp_path: Path, change: str) -> None:
    first = evaluate_in(repo.root, tmp_path)
    CHANGES[change](repo.root)
    second = evaluate_in(repo.root, tmp_path)
    assert not second.cached
    assert second.key != first.key


def test_a_helper_imported_by_the_evaluation_code_is_part_of_the_key(
    repo: SampleRepo, tmp_path: Path
) -> None:
    (repo.root / "metrics_util.py").write_text("SCALE = 1.0\n", "utf-8")
    _append(
        repo.root / "evaluate.py",
        "\n\ndef scaled_accuracy(outputs, targets):\n"
        "    from metrics_util import SCALE\n\n"
        "    return SCALE * accuracy(outputs, targets)\n",
    )
    write_eval_config(repo.root, metrics={"accuracy": "evaluate:scaled_accuracy"})
    first = evaluate_in(repo.root, tmp_path)
    assert evaluate_in(repo.root, tmp_path).cached
    (repo.root / "metrics_util.py").write_text("SCALE = 0.5\n", "utf-8")
    second = evaluate_in(repo.root, tmp_path)
    assert not second.cached
    assert second.metrics["accuracy"] == pytest.approx(first.metrics["accuracy"] / 2)


def test_the_key_holds_the_environment(repo: SampleRepo, tmp_path: Path) -> None:
    result = evaluate_in(repo.root, tmp_path)
    entry = json.loads((tmp_path / "eval-cache" / f"{result.key}.json").read_text("utf-8"))
    environment = entry["components"]["environment"]
    assert environment["torch"] == torch.__version__
    assert environment["device"] == "cpu"
    assert environment["python"]
    assert entry["components"]["device_name"]


def test_no_cache_and_cache_off_evaluate_again(repo: SampleRepo, tmp_path: Path) -> None:
    evaluate_in(repo.root, tmp_path)
    assert not evaluate_in(repo.root, tmp_path, use_cache=False).cached
    write_eval_config(repo.root, cache=False)
    assert not evaluate_in(repo.root, tmp_path).cached


def test_an_unreadable_entry_is_a_miss_and_is_replaced(repo: SampleRepo, tmp_path: Path) -> None:
    first = evaluate_in(repo.root, tmp_path)
    (tmp_path / "eval-cache" / f"{first.key}.json").write_text("{not json", "utf-8")
    assert not evaluate_in(repo.root, tmp_path).cached
    assert evaluate_in(repo.root, tmp_path).cached


def test_missing_data_path_is_a_clear_error(repo: SampleRepo, tmp_path: Path) -> None:
    from torchlane.errors import TorchlaneError

    write_eval_config(repo.root, data_paths=["data/validation"])
    with pytest.raises(TorchlaneError, match=r"data_paths: .*data/validation does not exist"):
        evaluate_in(repo.root, tmp_path)
