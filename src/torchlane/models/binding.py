"""The binding of a release tag to the model it shipped, as one JSON line in a git note.

The note sits on the tag's commit under its own ref (refs/notes/torchlane-models), not in the
tag's message: a tag is immutable once pushed, while a binding is written after the tag exists
(finish tags first), can be pushed and fetched like the evaluation records and run manifests,
and is read in bulk (`model list`) with one git process. See docs/models.md.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from torchlane import __version__
from torchlane.errors import TorchlaneError
from torchlane.fingerprint import sha256_file
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord, decode_number, encode_number
from torchlane.metrics.store import read_records
from torchlane.notes import append_note_line, full_notes_ref, note_text
from torchlane.project import Project

SCHEMA_VERSION = 1
KIND = "torchlane-model"
DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, kw_only=True)
class TrainingRun:
    """The `torchlane run` that wrote the checkpoint (repro/manifest.py), when one did."""

    run_id: str
    commit: str
    command: list[str]
    seed: int
    output: str  # the checkpoint's path among the run's outputs


@dataclass(frozen=True, kw_only=True)
class ModelBinding:
    tag: str
    commit: str  # the tag's commit
    evaluated_commit: str  # the release branch tip the evaluation record describes
    no_model: bool = False  # released explicitly without a model (`finish --no-model`)
    digest: str | None = None  # sha256 of the checkpoint file: its name in the store
    weights_digest: str | None = None  # evaluate/checkpoint.py: the weights the gate saw
    size: int | None = None
    checkpoint_path: str | None = None  # where the evaluation found it, relative to the root
    metrics: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)  # the record, per-example left out
    data_fingerprint: str | None = None
    environment: dict[str, str | None] = field(default_factory=dict)
    run: TrainingRun | None = None
    gate: str | None = None  # what the gate said when the release was finished
    exports: dict[str, str] = field(default_factory=dict)  # format -> artefact sha256 (checked)
    created_at: str = ""
    torchlane_version: str = ""
    schema: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = {k: encode_number(v) for k, v in self.metrics.items()}
        return {"kind": KIND, **data}

    def to_line(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, data: Any) -> ModelBinding:
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise ValueError("not a model binding")
        if int(data.get("schema", 1)) > SCHEMA_VERSION:
            raise ValueError(f"binding schema {data['schema']} is newer than this torchlane")
        digest = data.get("digest")
        if digest is not None and not DIGEST.match(str(digest)):
            raise ValueError(f"the digest {digest!r} is not a sha256")
        run = data.get("run")
        return cls(
            tag=str(data["tag"]),
            commit=str(data["commit"]),
            evaluated_commit=str(data.get("evaluated_commit") or data["commit"]),
            no_model=bool(data.get("no_model", False)),
            digest=None if digest is None else str(digest),
            weights_digest=data.get("weights_digest"),
            size=None if data.get("size") is None else int(data["size"]),
            checkpoint_path=data.get("checkpoint_path"),
            metrics={str(k): decode_number(v) for k, v in dict(data.get("metrics") or {}).items()},
            evaluation=dict(data.get("evaluation") or {}),
            data_fingerprint=data.get("data_fingerprint"),
            environment=dict(data.get("environment") or {}),
            run=None
            if not run
            else TrainingRun(**{k: run[k] for k in TrainingRun.__annotations__}),
            gate=data.get("gate"),
            exports={str(k): str(v) for k, v in dict(data.get("exports") or {}).items()},
            created_at=str(data.get("created_at", "")),
            torchlane_version=str(data.get("torchlane_version", "")),
        )

    @property
    def file_name(self) -> str | None:
        return None if self.checkpoint_path is None else Path(self.checkpoint_path).name


def models_ref(project: Project) -> str:
    return full_notes_ref(project.config.models.notes_ref)


def cache_dir(project: Project) -> Path:
    """This clone's copies of bound checkpoints, by digest: what `model push` uploads."""
    return project.state_dir / "models" / "sha256"


def parse_bindings(commit: str, text: str) -> list[ModelBinding]:
    """The readable bindings of one note, in note order; lines describing other commits (a
    copied note) and unreadable lines are left out."""
    found = []
    for line in text.splitlines():
        try:
            binding = ModelBinding.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue
        if binding.commit == commit:
            found.append(binding)
    return found


def bindings_of(git: Git, notes_ref: str, commit: str) -> list[ModelBinding]:
    return parse_bindings(commit, note_text(git, notes_ref, commit))


def requires_model(project: Project) -> bool:
    """A project that evaluates a model (or declares a model store) releases with one."""
    declared = project.config.model_fields_set
    return "eval" in declared or "models" in declared


def _evaluated_record(project: Project, branch: str, tip: str) -> EvaluationRecord:
    records = read_records(project.git, tip, project.config.metrics.notes_ref).records
    usable = [r for r in records if r.checkpoint_sha256 and r.checkpoint_path and not r.dirty]
    if not usable:
        raise TorchlaneError(
            f"'{branch}' has no evaluated checkpoint at {tip[:12]}: a release ships the model "
            "it was evaluated with, and no clean evaluation of that commit is recorded.",
            f"Evaluate the release branch (`torchlane eval` on {branch}, with a clean work tree), "
            f"then finish again; to release without a model, `torchlane finish {branch} "
            "--no-model` records that explicitly.",
        )
    return usable[-1]


def _cache_copy(source: Path, evaluated_weights: str, cache: Path) -> tuple[str, int]:
    """Copy the checkpoint into this clone's cache under the sha256 of its bytes, checking that
    the copy (not the source, which a training run could be rewriting) holds the weights the
    evaluation saw. Returns the file's sha256 and size."""
    from torchlane.evaluate.checkpoint import weights_digest

    cache.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=cache, prefix=".incoming-")
    temporary = Path(name)
    try:
        with open(handle, "wb") as out, source.open("rb") as given:
            shutil.copyfileobj(given, out, 1 << 20)
        found = weights_digest(temporary)
        if found != evaluated_weights:
            raise TorchlaneError(
                f"The checkpoint {source} changed since it was evaluated (weights digest "
                f"{found[:12]}, the evaluation saw {evaluated_weights[:12]}).",
                "Put back the evaluated weights, or evaluate the release branch again "
                "(`torchlane eval`), then finish again.",
            )
        digest = sha256_file(temporary)
        target = cache / digest
        if target.is_file() and sha256_file(target) == digest:
            return digest, target.stat().st_size
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    return digest, target.stat().st_size


def find_training_run(project: Project, digest: str) -> TrainingRun | None:
    """The newest recorded `torchlane run` whose outputs include a file with this digest."""
    from torchlane.repro.manifest import recorded_runs

    found = None
    for run in recorded_runs(project.git, project.config.repro.notes_ref):
        for output, sha in run.outputs.items():
            if sha == digest and run.exit_code == 0 and (found is None or run.started >= found[0]):
                found = (run.started, run, output)
    if found is None:
        return None
    _, run, output = found
    return TrainingRun(
        run_id=run.run_id, commit=run.commit, command=run.command, seed=run.seed, output=output
    )


def plan_binding(
    project: Project, branch: str, *, no_model: bool, gate: str | None = None
) -> dict[str, Any] | None:
    """What `finish` of release/hotfix `branch` will bind, checked before anything changes.

    None: the project evaluates no model, so there is nothing to bind. Raises when a model is
    expected and the branch has no evaluated checkpoint, or the checkpoint is not here as
    evaluated. The checkpoint is copied into this clone's cache, so `model push` later uploads
    exactly the evaluated bytes even if training overwrites the file meanwhile.
    """
    git = project.git
    tip = git.resolve(f"refs/heads/{branch}")
    if no_model:
        return {"evaluated_commit": tip, "no_model": True, "gate": gate}
    if not requires_model(project):
        return None
    record = _evaluated_record(project, branch, tip)
    assert record.checkpoint_path is not None
    assert record.checkpoint_sha256 is not None
    path = Path(record.checkpoint_path)
    path = path if path.is_absolute() else project.root / path
    if not path.is_file():
        raise TorchlaneError(
            f"The checkpoint evaluated at {tip[:12]} ({record.checkpoint_path}) is not in this "
            "clone, so the release cannot ship it.",
            "Finish the release where it was evaluated, or produce the weights again "
            "([tool.torchlane.eval] checkpoint_command) and evaluate; `--no-model` releases "
            "without one.",
        )
    # The record holds the weights digest (evaluate/checkpoint.py); the store is addressed by
    # the sha256 of the file's bytes, which is what a puller verifies.
    digest, size = _cache_copy(path, record.checkpoint_sha256, cache_dir(project))
    from torchlane.models.export import check_release_exports

    exports = check_release_exports(project, tip, branch, digest)
    evaluation = record.to_json()
    evaluation.pop("per_example", None)
    evaluation.pop("replicates", None)
    run = find_training_run(project, digest)
    return {
        "evaluated_commit": tip,
        "digest": digest,
        "weights_digest": record.checkpoint_sha256,
        "size": size,
        "checkpoint_path": record.checkpoint_path,
        "metrics": evaluation["metrics"],
        "evaluation": evaluation,
        "data_fingerprint": record.data_fingerprint,
        "environment": record.environment,
        "run": None if run is None else asdict(run),
        "gate": gate,
        "exports": exports,
    }


def record_binding(project: Project, tag: str, planned: dict[str, Any]) -> ModelBinding:
    """Write the binding planned before the release onto the tag's commit (once: a binding of
    this tag already there is returned as it is, so resuming a finish writes nothing twice)."""
    git = project.git
    commit = git.resolve(f"refs/tags/{tag}^{{commit}}")
    ref = models_ref(project)
    existing = [b for b in bindings_of(git, ref, commit) if b.tag == tag]
    if existing:
        return existing[-1]
    binding = ModelBinding.from_json(
        {
            "kind": KIND,
            **planned,
            "tag": tag,
            "commit": commit,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "torchlane_version": __version__,
        }
    )
    append_note_line(git, ref, commit, binding.to_line(), what="model binding")
    return binding


def describe(binding: ModelBinding) -> str:
    """One line for `finish`'s summary."""
    if binding.no_model:
        return f"{binding.tag} released without a model (--no-model)"
    assert binding.digest is not None
    shown = ", ".join(f"{k} {v:.4g}" for k, v in binding.metrics.items())
    return f"bound {binding.tag} to checkpoint sha256 {binding.digest[:12]} ({shown})"
