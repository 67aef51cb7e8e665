"""`torchlane model export TAG --format torchscript|export|onnx`: a deployment artefact made from
the checkpoint a release shipped, checked against the eager model, stored beside the checkpoint.

The model comes from the release's own code (a temporary worktree at the tag's commit, its
[tool.torchlane.eval] `model` factory), the weights from the bound checkpoint (verified), and the
check batches from its validation `data` factory: the artefact is made with the first batch and
must reproduce the eager model's outputs on the first two batches within rtol/atol (a model whose
Python control flow depends on the data is caught when the second batch takes the other path).
A mismatch fails and stores nothing.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.fingerprint import sha256_file
from torchlane.models.binding import cache_dir
from torchlane.project import Project

SUFFIX = {"torchscript": "torchscript.pt", "export": "exported.pt2", "onnx": "model.onnx"}


@dataclass(frozen=True)
class ExportResult:
    tag: str
    format: str
    location: str  # in the store
    sha256: str
    uploaded: bool  # False: the store already held this artefact
    max_abs_diff: float
    rtol: float
    atol: float
    batches: int  # how many validation batches were compared
    warnings: list[str] = field(default_factory=list)


def store_suffix(fmt: str) -> str:
    return f".exports/{SUFFIX[fmt]}"


def _first_batches(factory: Any, batch_size: int, count: int) -> list[Any]:
    import inspect

    try:
        accepts = "batch_size" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        accepts = False
    loader = factory(batch_size=batch_size) if accepts else factory()
    batches = []
    for batch in loader:
        inputs = batch[0] if isinstance(batch, (list, tuple)) else batch
        batches.append(inputs)
        if len(batches) == count:
            break
    if not batches:
        raise TorchlaneError(
            "The validation DataLoader yields no batch, so the export cannot be checked.",
            "Check [tool.torchlane.eval] data at the release's commit.",
        )
    return batches


@contextmanager
def _release_model(
    project: Project, commit: str, label: str, checkpoint: Path
) -> Iterator[tuple[Any, list[Any]]]:
    """The model of `commit`'s code with these weights, in eval mode, and validation batches."""
    from torchlane.config.load import load_config
    from torchlane.evaluate.checkpoint import apply_state_dict, load_state_dict
    from torchlane.evaluate.project_code import ProjectImporter

    with project.git.temporary_worktree(commit, prefix="torchlane-export-") as root:
        config = load_config(root).config.eval
        if not config.model or not config.data:
            raise TorchlaneError(
                f"{label}'s [tool.torchlane.eval] names no `model` and `data` factories, "
                "so torchlane cannot build the model to export.",
                "Declare them (the ready harness's settings), then release again.",
            )
        with ProjectImporter(root).imported_from() as code:
            model = code.resolve(config.model, "model")()
            apply_state_dict(model, load_state_dict(checkpoint, config.state_dict_key), checkpoint)
            model.eval()
            batches = _first_batches(code.resolve(config.data, "data"), config.batch_size, 2)
            yield model, batches


def _compare(expected: Any, found: Any) -> float:
    import torch

    expected_t = torch.as_tensor(expected).detach().float()
    found_t = torch.as_tensor(found).detach().float()
    if expected_t.shape != found_t.shape:
        return float("inf")
    return float((expected_t - found_t).abs().max()) if expected_t.numel() else 0.0


def _torchscript(model: Any, example: Any, path: Path) -> Any:
    import torch

    traced = torch.jit.trace(model, example)
    torch.jit.save(traced, str(path))
    return torch.jit.load(str(path))


def _exported(model: Any, example: Any, path: Path) -> Any:
    import torch

    # The batch dimension stays free: the last validation batch is usually smaller.
    program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim.AUTO},))
    torch.export.save(program, str(path))
    return torch.export.load(str(path)).module()


def _onnx(model: Any, example: Any, path: Path) -> Any:
    import importlib.util

    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if not importlib.util.find_spec(m)]
    if missing:
        raise TorchlaneError(
            f"ONNX export needs the {', '.join(missing)} package(s), which are not installed; "
            "nothing was exported.",
            "pip install onnx onnxscript onnxruntime (or use --format torchscript or export).",
        )
    import numpy
    import onnxruntime
    import torch

    torch.onnx.export(model, (example,), str(path), dynamo=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(batch: Any) -> Any:
        return torch.from_numpy(numpy.asarray(session.run(None, {name: batch.numpy()})[0]))

    return run


def check_export(
    project: Project,
    commit: str,
    label: str,
    checkpoint: Path,
    *,
    fmt: str,
    artefact: Path,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> tuple[float, int, list[str]]:
    """Write `artefact` in `fmt` from `commit`'s model with `checkpoint`'s weights and check it
    against the eager model: (max abs difference, batches compared, exporter warnings). Raises
    when it cannot be made or does not match."""
    import torch

    with _release_model(project, commit, label, checkpoint) as (model, batches):
        maker = {"torchscript": _torchscript, "export": _exported, "onnx": _onnx}[fmt]
        with warnings.catch_warnings(record=True) as caught, torch.no_grad():
            warnings.simplefilter("always")
            try:
                loaded = maker(model, batches[0], artefact)
                pairs = [(model(b), loaded(b)) for b in batches]
            except TorchlaneError:
                raise
            except Exception as exc:  # each exporter raises its own types
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise TorchlaneError(
                    f"The {fmt} exporter could not export {label}'s model (or run it): "
                    f"{type(exc).__name__}: {first[:300]}",
                    "Try another format, or change the forward to what the exporter supports "
                    "(no Python branches on tensor values).",
                ) from exc
            worst = max(_compare(eager, made) for eager, made in pairs)
            tolerance_ok = worst != float("inf") and all(
                torch.allclose(torch.as_tensor(made).float(), torch.as_tensor(eager).float(),
                               rtol=rtol, atol=atol)
                for eager, made in pairs
            )  # fmt: skip
    notes = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
    if not tolerance_ok:
        artefact.unlink(missing_ok=True)
        raise TorchlaneError(
            f"The {fmt} export of {label} does not match the eager model on the validation "
            f"batches: max abs difference {worst:.3g} (rtol {rtol:g}, atol {atol:g}). Nothing "
            "was stored." + (f" The exporter warned: {notes[0]}" if notes else ""),
            "The model's forward probably branches on the data in Python (tracing keeps one "
            "branch) or uses an operation the format does not support; try another format, "
            "or make the forward traceable.",
        )
    return worst, len(batches), notes


def export_model(
    project: Project, tag: str, fmt: str, *, rtol: float = 1e-4, atol: float = 1e-5
) -> ExportResult:
    if fmt not in SUFFIX:
        raise TorchlaneError(
            f"{fmt!r} is not an export format.", f"Use one of: {', '.join(SUFFIX)}."
        )

    from torchlane.models.ops import find_binding, local_copy, open_store, require_model

    binding = find_binding(project, tag)
    digest = require_model(binding)
    store = open_store(project)
    with tempfile.TemporaryDirectory(prefix="torchlane-export-") as folder:
        checkpoint = local_copy(project, binding)
        if checkpoint is None:
            checkpoint = Path(folder) / (binding.file_name or "model.pt")
            store.get(digest, checkpoint)
            if sha256_file(checkpoint) != digest:
                raise TorchlaneError(
                    f"The store's file for {binding.tag} does not match its digest; nothing "
                    "was exported.",
                    f"Push it again from a clone that has it: `torchlane model push {tag}`.",
                )
        artefact = Path(folder) / SUFFIX[fmt]
        worst, batches, notes = check_export(
            project, binding.commit, binding.tag, checkpoint, fmt=fmt, artefact=artefact,
            rtol=rtol, atol=atol,
        )  # fmt: skip
        sha = sha256_file(artefact)
        uploaded = store.put(artefact, digest, store_suffix(fmt))
        location = store.location(digest, store_suffix(fmt))
    return ExportResult(
        tag=binding.tag, format=fmt, location=location, sha256=sha, uploaded=uploaded,
        max_abs_diff=worst, rtol=rtol, atol=atol, batches=batches, warnings=notes,
    )  # fmt: skip


def check_release_exports(project: Project, tip: str, branch: str, digest: str) -> dict[str, str]:
    """`finish`'s release check for [tool.torchlane.models] exports: each format is made from the
    release branch's code and the evaluated checkpoint and must match the eager model, or the
    release is refused before anything is merged. The artefacts are kept in this clone's cache
    beside the checkpoint (`model push` uploads them). Returns format -> artefact sha256."""
    made: dict[str, str] = {}
    checkpoint = cache_dir(project) / digest  # the evaluated bytes, copied by plan_binding
    folder = cache_dir(project) / f"{digest}.exports"
    for fmt in project.config.models.exports:
        folder.mkdir(parents=True, exist_ok=True)
        artefact = folder / SUFFIX[fmt]
        try:
            check_export(project, tip, branch, checkpoint, fmt=fmt, artefact=artefact)
        except TorchlaneError as exc:
            raise TorchlaneError(
                f"'{branch}' fails the release check of [tool.torchlane.models] exports: "
                + exc.message,
                (exc.hint or "") + f" Or remove {fmt!r} from [tool.torchlane.models] exports.",
            ) from exc
        made[fmt] = sha256_file(artefact)
    return made
