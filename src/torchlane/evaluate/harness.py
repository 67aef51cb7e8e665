"""The ready harness: the project's model, validation DataLoader and metric functions, run by us.

The loop is the one a careful engineer writes by hand (eval mode, inference_mode, optional
autocast, batches moved to the device); outputs are kept on the CPU so metric functions see the
whole validation set at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.evaluate.checkpoint import apply_state_dict, load_state_dict
from torchlane.evaluate.device import autocast_context
from torchlane.evaluate.project_code import ProjectImporter
from torchlane.evaluate.resample import build_replicates, replicates_of, replicates_of_mean
from torchlane.evaluate.settings import EvalConfig
from torchlane.evaluate.types import EvalContext, EvalResult, ExampleResults
from torchlane.metrics.record import Replicates

_WHERE = "[tool.torchlane.eval]"


def require_evaluation(config: EvalConfig) -> None:
    if config.entry is None and (config.model is None or config.data is None):
        raise TorchlaneError(
            f"{_WHERE} names neither an evaluation entry point nor a model and data.",
            "Set entry = 'module:function', or model = 'module:build_model' and "
            "data = 'module:validation_loader' (see docs/evaluation.md).",
        )


def _to_device(value: Any, device: str) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    return value


def _call_model(model: Any, inputs: Any) -> Any:
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (list, tuple)):
        return model(*inputs)
    return model(inputs)


def _split_batch(batch: Any) -> tuple[Any, Any, Any]:
    if isinstance(batch, (list, tuple)) and len(batch) in (2, 3):
        return batch[0], batch[1], batch[2] if len(batch) == 3 else None
    raise TorchlaneError(
        f"The validation DataLoader yields {type(batch).__name__} batches; the harness needs "
        "(inputs, targets) or (inputs, targets, example_ids).",
        f"Return such batches from {_WHERE} data, or write your own evaluation (entry).",
    )


def _make_loader(factory: Callable[..., Any], batch_size: int) -> Any:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    accepts = "batch_size" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
    return factory(batch_size=batch_size) if accepts else factory()


def _as_float(value: Any, name: str) -> float:
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError, RuntimeError):
        raise TorchlaneError(
            f"{_WHERE} metrics.{name} returned {type(value).__name__}, not a number.",
            "A metric function takes (outputs, targets) and returns a float or a 0-d tensor.",
        ) from None


def run_loop(model: Any, loader: Any, ctx: EvalContext) -> tuple[Any, Any, list[Any] | None]:
    """Outputs (float32, CPU), targets and example ids (None when the batches carry none)."""
    import torch

    try:
        total: int | None = len(loader)
    except TypeError:
        total = None
    outputs: list[Any] = []
    targets: list[Any] = []
    ids: list[Any] = []
    with torch.inference_mode(), autocast_context(ctx.device, ctx.autocast):
        for done, batch in enumerate(loader, 1):
            inputs, target, batch_ids = _split_batch(batch)
            output = _call_model(model, _to_device(inputs, ctx.device))
            outputs.append(output.float().cpu())
            targets.append(target.cpu() if isinstance(target, torch.Tensor) else target)
            if batch_ids is not None:
                ids.extend(batch_ids.tolist() if hasattr(batch_ids, "tolist") else batch_ids)
            ctx.progress(done, total)
    if not outputs:
        raise TorchlaneError(
            "The validation DataLoader yielded no batches.",
            f"Check {_WHERE} data: the validation set is empty.",
        )
    return torch.cat(outputs), torch.cat([torch.as_tensor(t) for t in targets]), ids or None


def run_harness(config: EvalConfig, ctx: EvalContext, importer: ProjectImporter) -> EvalResult:
    import torch
    import torch.nn.functional as F  # noqa: N812  (the conventional name)

    require_evaluation(config)
    assert config.model is not None  # for mypy: require_evaluation checked both
    assert config.data is not None
    build_model = importer.resolve(config.model, "model")
    data_factory = importer.resolve(config.data, "data")
    metric_functions = {
        name: importer.resolve(t, f"metrics.{name}") for name, t in config.metrics.items()
    }
    loss_function = (
        importer.resolve(config.per_example_loss, "per_example_loss")
        if config.per_example_loss
        else None
    )

    model = build_model()
    apply_state_dict(model, load_state_dict(ctx.checkpoint, config.state_dict_key), ctx.checkpoint)
    model.to(ctx.device).eval()
    outputs, targets, ids = run_loop(model, _make_loader(data_factory, ctx.batch_size), ctx)

    metrics: dict[str, float] = {}
    means: dict[str, Any] = {}  # built-in metrics that are means of per-example values
    if config.task == "classification":
        correct = (outputs.argmax(dim=-1) == targets).float()
        if not metric_functions:
            metrics["accuracy"] = float(correct.mean())
            per_example_loss = F.cross_entropy(outputs, targets, reduction="none")
            metrics["loss"] = float(per_example_loss.mean())
            means = {"accuracy": correct.double(), "loss": per_example_loss.double()}
        examples = ExampleResults("correct", correct.tolist(), ids)
    else:
        losses = (
            loss_function(outputs, targets)
            if loss_function
            else F.mse_loss(outputs, targets.float(), reduction="none")
        )
        losses = torch.as_tensor(losses).reshape(len(outputs), -1).float().mean(dim=1)
        if not metric_functions:
            metrics["loss"] = float(losses.mean())
            means = {"loss": losses.double()}
        examples = ExampleResults("score", losses.tolist(), ids, higher_is_better=False)
    for name, function in metric_functions.items():
        metrics[name] = _as_float(function(outputs, targets), name)
    replicates = _replicates(config, metrics=metrics, means=means, functions=metric_functions,
                             outputs=outputs, targets=targets, examples=examples)  # fmt: skip
    return EvalResult(metrics, examples, replicates)


def _replicates(
    config: EvalConfig,
    *,
    metrics: dict[str, float],
    means: dict[str, Any],
    functions: dict[str, Callable[..., Any]],
    outputs: Any,
    targets: Any,
    examples: ExampleResults,
) -> Replicates | None:
    """Every metric on the shared resamples, so the gate can pair it (evaluate/resample.py)."""
    if config.resamples == 0:
        return None
    fingerprint = examples.ids_fingerprint()
    count = config.resamples
    found = {name: replicates_of_mean(v.numpy(), count, fingerprint) for name, v in means.items()}
    for name, function in functions.items():

        def value(o: Any, t: Any, f: Callable[..., Any] = function, n: str = name) -> float:
            return _as_float(f(o, t), n)

        found[name] = replicates_of(value, outputs, targets, count, fingerprint)
    return build_replicates(found, metrics, len(outputs), fingerprint)
