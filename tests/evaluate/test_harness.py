"""The ready harness and project entry points, on the real digits classifier."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sklearn.metrics import f1_score

from tests.evaluate.conftest import SampleRepo
from tests.evaluate.helpers import evaluate_in, write_eval_config
from torchlane.errors import TorchlaneError
from torchlane.evaluate.project_code import ProjectImporter
from torchlane.fingerprint import sha256_text


def _hand_evaluation(root: Path, checkpoint: Path) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    with ProjectImporter(root).imported_from() as project:
        model = project.resolve("model:build_model", "model")()
        model.load_state_dict(torch.load(checkpoint, weights_only=True))
        model.eval()
        images, labels, ids = next(iter(project.resolve("data:validation_loader", "d")(10_000)))
    with torch.no_grad():
        predictions = model(images).argmax(dim=1)
    return predictions, labels, ids.tolist()


def test_harness_metrics_match_a_hand_computation(sample_repo: SampleRepo, tmp_path: Path) -> None:
    result = evaluate_in(sample_repo.root, tmp_path / "state")
    predictions, labels, ids = _hand_evaluation(sample_repo.root, sample_repo.checkpoint)

    correct = (predictions == labels).float()
    assert result.metrics["accuracy"] == pytest.approx(float(correct.mean()), abs=1e-9)
    assert result.metrics["macro_f1"] == pytest.approx(
        f1_score(labels.numpy(), predictions.numpy(), average="macro"), abs=1e-9
    )
    assert result.per_example.kind == "correct"
    assert list(result.per_example.values) == correct.tolist()
    assert result.per_example.ids_fingerprint == sha256_text("\n".join(map(str, ids)))
    assert 0.5 < result.metrics["accuracy"] < 1.0  # a trained model, not a constant


def test_default_metrics_and_progress(sample_repo: SampleRepo, tmp_path: Path) -> None:
    write_eval_config(sample_repo.root, metrics={}, batch_size=100)
    calls: list[tuple[int, int | None]] = []
    result = evaluate_in(sample_repo.root, tmp_path, progress=lambda d, t: calls.append((d, t)))
    predictions, labels, _ = _hand_evaluation(sample_repo.root, sample_repo.checkpoint)
    assert set(result.metrics) == {"accuracy", "loss"}
    assert result.metrics["accuracy"] == pytest.approx(
        float((predictions == labels).float().mean())
    )
    assert result.metrics["loss"] > 0
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]  # 450 examples in batches of 100


def test_same_seed_gives_identical_results(sample_repo: SampleRepo, tmp_path: Path) -> None:
    first = evaluate_in(sample_repo.root, tmp_path, use_cache=False)
    second = evaluate_in(sample_repo.root, tmp_path, use_cache=False)
    assert not second.cached
    assert first.metrics == second.metrics
    assert first.per_example == second.per_example


CUSTOM = """
import torch
import torch.nn.functional as F

from data import validation_loader
from model import build_model
from torchlane.evaluate.types import EvalContext, EvalResult, ExampleResults


def evaluate(ctx: EvalContext) -> EvalResult:
    model = build_model()
    model.load_state_dict(torch.load(ctx.checkpoint, weights_only=True))
    model.eval().to(ctx.device)
    losses, ids = [], []
    with torch.inference_mode():
        for images, labels, batch_ids in validation_loader(batch_size=ctx.batch_size):
            losses += F.cross_entropy(model(images), labels, reduction="none").tolist()
            ids += [f"digit-{i}" for i in batch_ids.tolist()]
    metrics = {"loss": sum(losses) / len(losses), "batch_size": ctx.batch_size, "seed": ctx.seed}
    return EvalResult(metrics, ExampleResults("score", losses, ids, higher_is_better=False))


def plain_mapping(ctx):
    return {"answer": torch.tensor(42.0)}


def not_metrics(ctx):
    return "nonsense"


def fails(ctx):
    raise ValueError("validation shard 3 is missing")
"""


def test_entry_point_evaluation(sample_repo: SampleRepo, tmp_path: Path) -> None:
    (sample_repo.root / "custom_eval.py").write_text(CUSTOM, "utf-8")
    write_eval_config(sample_repo.root, entry="custom_eval:evaluate", batch_size=64, seed=7)
    result = evaluate_in(sample_repo.root, tmp_path)
    assert result.metrics["batch_size"] == 64
    assert result.metrics["seed"] == 7
    assert result.per_example.kind == "score"
    assert result.per_example.higher_is_better is False
    assert len(result.per_example.values) == 450
    assert sum(result.per_example.values) / 450 == pytest.approx(result.metrics["loss"], rel=1e-5)


def test_entry_point_may_return_a_plain_mapping(sample_repo: SampleRepo, tmp_path: Path) -> None:
    (sample_repo.root / "custom_eval.py").write_text(CUSTOM, "utf-8")
    write_eval_config(sample_repo.root, entry="custom_eval:plain_mapping")
    result = evaluate_in(sample_repo.root, tmp_path)
    assert result.metrics == {"answer": 42.0}
    assert result.per_example is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("custom_eval:not_metrics", "returned str, not metrics"),
        ("custom_eval:fails", "raised ValueError: validation shard 3 is missing"),
        ("custom_eval:absent", "has no function 'absent'"),
        ("no_such_module:evaluate", "no module 'no_such_module'"),
    ],
)
def test_entry_point_failures_are_clear(
    sample_repo: SampleRepo, tmp_path: Path, entry: str, message: str
) -> None:
    (sample_repo.root / "custom_eval.py").write_text(CUSTOM, "utf-8")
    write_eval_config(sample_repo.root, entry=entry)
    with pytest.raises(TorchlaneError, match=message):
        evaluate_in(sample_repo.root, tmp_path)


def test_project_modules_do_not_leak_between_checkouts(
    sample_repo: SampleRepo, tmp_path: Path, place_checkpoint
) -> None:
    import shutil
    import sys

    other = tmp_path / "other"
    shutil.copytree(sample_repo.root, other, ignore=shutil.ignore_patterns(".git"))
    (other / "evaluate.py").write_text(
        "def accuracy(outputs, targets):\n    return -1.0\n\n"
        "def macro_f1(outputs, targets):\n    return -2.0\n",
        "utf-8",
    )
    place_checkpoint(other)
    first = evaluate_in(sample_repo.root, tmp_path / "a")
    second = evaluate_in(other, tmp_path / "b")
    assert first.metrics["accuracy"] > 0
    assert second.metrics == {"accuracy": -1.0, "macro_f1": -2.0}
    assert "model" not in sys.modules
    assert str(other) not in sys.path


def test_autocast_runs_in_bfloat16(sample_repo: SampleRepo, tmp_path: Path) -> None:
    full = evaluate_in(sample_repo.root, tmp_path / "a")
    write_eval_config(sample_repo.root, autocast="bfloat16")
    half = evaluate_in(sample_repo.root, tmp_path / "b")
    assert half.components["autocast"] == "bfloat16"
    assert half.metrics["accuracy"] == pytest.approx(full.metrics["accuracy"], abs=0.03)


LOSSES = """
import torch.nn.functional as F


def per_example(outputs, targets):
    return F.cross_entropy(outputs, targets, reduction="none")
"""


def test_regression_task_records_per_example_losses(
    sample_repo: SampleRepo, tmp_path: Path
) -> None:
    (sample_repo.root / "losses.py").write_text(LOSSES, "utf-8")
    write_eval_config(
        sample_repo.root, task="regression", metrics={}, per_example_loss="losses:per_example"
    )
    result = evaluate_in(sample_repo.root, tmp_path)
    assert set(result.metrics) == {"loss"}
    assert result.per_example.kind == "score"
    assert result.per_example.higher_is_better is False
    values = result.per_example.values
    assert len(values) == 450
    assert sum(values) / len(values) == pytest.approx(result.metrics["loss"], rel=1e-5)
    assert min(values) >= 0


def test_a_loaded_module_of_the_same_name_is_set_aside_and_restored(
    sample_repo: SampleRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.py").write_text("ORIGIN = 'elsewhere'\n", "utf-8")
    monkeypatch.syspath_prepend(str(elsewhere))
    monkeypatch.delitem(sys.modules, "data", raising=False)
    foreign = importlib.import_module("data")
    try:
        result = evaluate_in(sample_repo.root, tmp_path / "state")
        assert result.metrics["accuracy"] > 0.5  # the project's data.py was used
        assert sys.modules["data"] is foreign
    finally:
        sys.modules.pop("data", None)


def test_harness_keeps_replicates_of_every_metric_on_shared_resamples(
    sample_repo: SampleRepo, tmp_path: Path
) -> None:
    from torchlane.evaluate.resample import resample_indices

    write_eval_config(sample_repo.root, resamples=120)
    result = evaluate_in(sample_repo.root, tmp_path / "state")
    replicates = result.replicates
    assert replicates is not None
    assert set(replicates.metrics) == {"accuracy", "macro_f1"}
    assert (replicates.count, replicates.n) == (120, 450)
    assert replicates.ids_fingerprint == result.per_example.ids_fingerprint
    # replicate 7 is the metric recomputed on resample 7, from the stored predictions
    predictions, labels, _ = _hand_evaluation(sample_repo.root, sample_repo.checkpoint)
    row = torch.from_numpy(resample_indices(450, replicates.ids_fingerprint, 7, 8)[0])
    expected = f1_score(labels[row].numpy(), predictions[row].numpy(), average="macro")
    assert replicates.metrics["macro_f1"][7] == pytest.approx(expected, abs=1e-9)
    accuracy = float((predictions[row] == labels[row]).float().mean())
    assert replicates.metrics["accuracy"][7] == pytest.approx(accuracy, abs=1e-9)
    cached = evaluate_in(sample_repo.root, tmp_path / "state")
    assert cached.cached
    assert cached.replicates is not None
    assert cached.replicates.metrics["macro_f1"][7] == pytest.approx(expected, abs=1e-3)
    write_eval_config(sample_repo.root, resamples=0)
    assert evaluate_in(sample_repo.root, tmp_path / "state").replicates is None


def test_the_same_weights_under_another_file_name_hit_the_cache(
    sample_repo: SampleRepo, tmp_path: Path
) -> None:
    first = evaluate_in(sample_repo.root, tmp_path / "state")
    renamed = sample_repo.root / "checkpoints" / "best-renamed.pt"
    torch.save(torch.load(sample_repo.checkpoint, weights_only=True), renamed)
    sample_repo.checkpoint.unlink()
    write_eval_config(sample_repo.root, checkpoint="checkpoints/best-renamed.pt")
    second = evaluate_in(sample_repo.root, tmp_path / "state")
    assert second.checkpoint_sha256 == first.checkpoint_sha256
    assert second.cached
