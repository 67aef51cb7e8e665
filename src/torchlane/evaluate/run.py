"""Evaluate one checkout: produce and find the weights, consult the cache, run, and describe it."""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.evaluate.cache import EvalCache
from torchlane.evaluate.checkpoint import find_checkpoint, run_checkpoint_command, weights_digest
from torchlane.evaluate.device import device_name, resolve_device
from torchlane.evaluate.harness import require_evaluation, run_harness
from torchlane.evaluate.project_code import ProjectImporter, module_files
from torchlane.evaluate.settings import EvalConfig
from torchlane.evaluate.types import (
    EvalContext,
    EvalResult,
    Progress,
    no_progress,
    normalise_result,
)
from torchlane.fingerprint import environment_fingerprint, sha256_json, sha256_tree
from torchlane.metrics.record import PerExample, Replicates

# The settings that decide what is computed (not where the weights come from: their bytes count).
_RESULT_SETTINGS = ("entry", "model", "data", "metrics", "task", "per_example_loss",
                    "state_dict_key", "data_fingerprint", "resamples")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class CheckoutEvaluation:
    metrics: dict[str, float]
    per_example: PerExample | None
    replicates: Replicates | None
    checkpoint: Path
    checkpoint_sha256: str
    data_fingerprint: str | None
    environment: dict[str, str | None]
    key: str
    components: dict[str, Any] = field(repr=False)
    cached: bool
    duration_s: float  # of the evaluation itself (for a cache hit: of the run that filled it)


@contextmanager
def _seeded(seed: int, deterministic: bool, device: str) -> Iterator[None]:
    import torch

    was = (torch.are_deterministic_algorithms_enabled(),
           torch.is_deterministic_algorithms_warn_only_enabled())  # fmt: skip
    if device.startswith("cuda"):
        # cuBLAS is only deterministic with a fixed workspace; it must be set before first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy

        numpy.random.seed(seed % 2**32)
    except ImportError:
        pass
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    # Deterministic mode also fills every new tensor with NaN to expose reads of uninitialised
    # memory; that debugging aid changes no correct result and costs a write per allocation.
    fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was[0], warn_only=was[1])
        torch.utils.deterministic.fill_uninitialized_memory = fill


def _data_fingerprint(
    config: EvalConfig, root: Path, importer: ProjectImporter, cache: EvalCache
) -> str | None:
    if config.data_fingerprint:
        function = importer.resolve(config.data_fingerprint, "data_fingerprint")
        return str(_call_project(function, "data_fingerprint"))
    if not config.data_paths:
        return None
    from torchlane.models.dvc import dvc_fingerprint

    # Data DVC tracks is identified by DVC's own recorded hashes, without reading it again.
    tracked = dvc_fingerprint(root, config.data_paths)
    if tracked is not None:
        return tracked
    paths = [root / p for p in config.data_paths]
    for path in paths:
        if not path.exists():
            raise TorchlaneError(
                f"[tool.torchlane.eval] data_paths: {path} does not exist.",
                "Fetch the validation data first (e.g. in checkpoint_command), or correct the path.",
            )
    return sha256_tree(paths, root.resolve(), cache.memo)


def _call_project(function: Any, what: str, *args: Any) -> Any:
    """Call project code; its own exceptions are reported as its failure, not torchlane's."""
    try:
        return function(*args)
    except TorchlaneError:
        raise
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        raise TorchlaneError(
            f"The project's evaluation code ({what}) raised {type(exc).__name__}: {exc}",
            "The traceback is printed above; fix the project code and run again.",
        ) from exc


def _evaluate(config: EvalConfig, ctx: EvalContext, importer: ProjectImporter) -> EvalResult:
    if config.entry:
        function = importer.resolve(config.entry, "entry")
        return normalise_result(_call_project(function, config.entry, ctx), config.entry)
    result: EvalResult = _call_project(lambda: run_harness(config, ctx, importer), "harness")
    return result


def _declared_code(root: Path, config: EvalConfig) -> list[Path]:
    """The evaluation code known before running it: the modules named, and `code_paths`."""
    declared = [f for target in config.entry_points() for f in module_files(root, target)]
    for name in config.code_paths:
        if not (root / name).exists():
            raise TorchlaneError(
                f"[tool.torchlane.eval] code_paths: {root / name} does not exist.",
                "List files or directories of the evaluation code, relative to the project root.",
            )
        declared.append(root / name)
    return declared


def _command_inputs(
    root: Path, config: EvalConfig, cache: EvalCache, environment: dict[str, str | None]
) -> str | None:
    """A key over what the checkpoint command reads: the command, the project's files (tracked
    and untracked, not ignored), the data paths, and the environment. None outside git."""
    from torchlane.git import Git

    top = root.resolve()
    try:
        names = Git(top).files()
        paths = [top / name for name in names] + [(top / p).resolve() for p in config.data_paths]
        project = sha256_tree(paths, top, cache.memo)
    except (TorchlaneError, OSError, ValueError):  # not a repository; data outside the root
        return None
    return cache.key({"checkpoint_command": config.checkpoint_command,
                      "checkpoint": config.checkpoint, "project": project,
                      "environment": environment})  # fmt: skip


def _checkpoint_still_made(
    root: Path, config: EvalConfig, cache: EvalCache, environment: dict[str, str | None]
) -> bool:
    """The command ran on these very inputs, and the checkpoint it made is there, unchanged."""
    inputs = _command_inputs(root, config, cache, environment)
    made = cache.command_output(inputs) if inputs is not None else None
    if made is None:
        return False
    path = root / made[0]
    try:
        current = find_checkpoint(root, config.checkpoint)
    except TorchlaneError:
        return False
    return current.resolve() == path.resolve() and cache.memo.sha256(current) == made[1]


def _check_entry_points(root: Path, config: EvalConfig) -> None:
    """Every function the configuration names can be imported from the project (a throwaway
    import: the evaluation imports them afresh, and learns its code files then)."""
    named = {"entry": config.entry, "model": config.model, "data": config.data,
             "per_example_loss": config.per_example_loss,
             "data_fingerprint": config.data_fingerprint}  # fmt: skip
    named.update({f"metrics.{name}": target for name, target in config.metrics.items()})
    with ProjectImporter(root).imported_from() as project:
        for key, target in named.items():
            if target:
                project.resolve(target, key)


def evaluate_checkout(
    root: Path,
    config: EvalConfig,
    state_dir: Path,
    *,
    device: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> CheckoutEvaluation:
    require_evaluation(config)
    declared = _declared_code(root, config)
    _check_entry_points(root, config)  # a misspelt function is reported before any training
    cache = EvalCache(state_dir)
    resolved_device = resolve_device(device or config.device)
    environment = environment_fingerprint(resolved_device.partition(":")[0])
    command_skipped = False
    if config.checkpoint_command is not None:
        reuse = use_cache and config.cache
        command_skipped = reuse and _checkpoint_still_made(root, config, cache, environment)
        if command_skipped:
            print(
                "The checkpoint command is skipped: its inputs are unchanged since it made "
                "the checkpoint (--no-cache runs it).",
                file=sys.stderr,
            )
        else:
            run_checkpoint_command(config.checkpoint_command, root, config.command_timeout_s)
    checkpoint = find_checkpoint(root, config.checkpoint)
    # The weights, not the file: torch.save embeds the file name, so a copy renamed is a hit.
    checkpoint_sha = cache.memo.digest(checkpoint, weights_digest, "weights:")
    if config.checkpoint_command is not None and not command_skipped and use_cache and config.cache:
        inputs = _command_inputs(root, config, cache, environment)
        if inputs is not None:
            relative = checkpoint.resolve().relative_to(root.resolve()).as_posix()
            cache.remember_command_output(inputs, relative, cache.memo.sha256(checkpoint))
    settings = config.model_dump(include=set(_RESULT_SETTINGS), mode="json")
    settings_key = sha256_json(settings)
    importer = ProjectImporter(root)

    def components(code_files: list[Path], data_fp: str | None) -> dict[str, Any]:
        return {
            "checkpoint_sha256": checkpoint_sha,
            "data_fingerprint": data_fp,
            "code_fingerprint": cache.code_fingerprint(root, code_files),
            "environment": environment,
            "device_name": device_name(resolved_device),
            "seed": config.seed,
            "batch_size": config.batch_size,
            "autocast": config.autocast,
            "deterministic": config.deterministic,
            "settings": settings,
        }

    with importer.imported_from():
        data_fp = _data_fingerprint(config, root, importer, cache)
        looked_up = cache.code_files(root, declared, settings_key)
        parts = components(looked_up, data_fp)
        key = cache.key(parts)
        hit = cache.get(key) if use_cache and config.cache else None
        if hit is None:
            ctx = EvalContext(checkpoint, resolved_device, config.batch_size, config.seed,
                              root, config.autocast, progress or no_progress)  # fmt: skip
            started = time.perf_counter()
            with _seeded(config.seed, config.deterministic, resolved_device):
                result = _evaluate(config, ctx, importer)
            duration = time.perf_counter() - started
    cache.memo.save()
    if hit is not None:
        return CheckoutEvaluation(
            metrics=hit.metrics,
            per_example=hit.per_example,
            replicates=hit.replicates,
            checkpoint=checkpoint,
            checkpoint_sha256=checkpoint_sha,
            data_fingerprint=data_fp,
            environment=environment,
            key=key,
            components=parts,
            cached=True,
            duration_s=hit.duration_s,
        )
    code_files = sorted(f.resolve() for f in {*declared, *importer.loaded_files} if f.exists())
    if code_files != looked_up:  # the evaluation imported code the lookup did not know about
        parts = components(code_files, data_fp)
        key = cache.key(parts)
        if config.cache:
            cache.remember_code_files(root, code_files, settings_key)
    per_example = result.examples.to_per_example() if result.examples else None
    metrics = dict(result.metrics)
    if config.cache:
        cache.put(key, parts, metrics, per_example, duration, replicates=result.replicates)
        cache.memo.save()
    return CheckoutEvaluation(
        metrics=metrics,
        per_example=per_example,
        replicates=result.replicates,
        checkpoint=checkpoint,
        checkpoint_sha256=checkpoint_sha,
        data_fingerprint=data_fp,
        environment=environment,
        key=key,
        components=parts,
        cached=False,
        duration_s=duration,
    )
