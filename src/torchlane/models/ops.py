"""`torchlane model push | pull | show | list | diff`: the bound models of releases."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from torchlane.errors import TorchlaneError
from torchlane.fingerprint import sha256_file
from torchlane.metrics.record import encode_number
from torchlane.models.binding import (
    ModelBinding,
    bindings_of,
    cache_dir,
    models_ref,
    parse_bindings,
)
from torchlane.models.store import ModelStore
from torchlane.project import Project


def open_store(project: Project) -> ModelStore:
    settings = project.config.models
    if settings.store is None:
        raise TorchlaneError(
            "No model store is configured.",
            'Name one in [tool.torchlane.models]: store = "/mnt/team/models" (a shared '
            'directory) or store = "s3://bucket/models" (any fsspec URL).',
        )
    return ModelStore(settings.store, project.root, settings.store_options)


def _remote(project: Project) -> str | None:
    remote = project.config.flow.remote
    return remote if remote in project.git.remotes() else None


def fetch_bindings(project: Project) -> None:
    """Union the remote's bindings and run manifests into this clone's (no-op without a remote)."""
    from torchlane.metrics.sync import pull

    remote = _remote(project)
    if remote is None:
        return
    pull(project.git, models_ref(project), remote)
    pull(project.git, project.config.repro.notes_ref, remote)


def find_binding(project: Project, tag: str, *, fetch: bool = True) -> ModelBinding:
    """The binding of release `tag` (a tag name, or any revision of the tag's commit)."""
    git = project.git
    commit = git.rev(f"{tag}^{{commit}}")
    if commit is None and fetch and _remote(project) is not None:
        git.fetch(str(_remote(project)), "--tags", check=False)
        commit = git.rev(f"{tag}^{{commit}}")
    if commit is None:
        raise TorchlaneError(
            f"'{tag}' is not a tag or commit in this repository.",
            "List the released models with `torchlane model list`; fetch the tags with "
            "`git fetch --tags`.",
        )
    ref = models_ref(project)
    found = bindings_of(git, ref, commit)
    if not found and fetch and _remote(project) is not None:
        fetch_bindings(project)
        found = bindings_of(git, ref, commit)
    named = [b for b in found if b.tag == tag] or found
    if not named:
        raise TorchlaneError(
            f"{tag} ({commit[:12]}) has no model binding in {ref}.",
            "Only releases finished with `torchlane finish` are bound; fetch the team's "
            f"bindings with `git fetch origin {ref}:{ref}` if it was released elsewhere.",
        )
    return named[-1]


def all_bindings(project: Project) -> list[ModelBinding]:
    """Every release's binding (the newest per tag), lowest version first."""
    from torchlane.metrics.store import note_texts

    git = project.git
    ref = models_ref(project)
    if git.ref_value(ref) is None:
        return []
    latest: dict[str, ModelBinding] = {}
    for commit, text in note_texts(git, git.noted_commits(ref), ref).items():
        for binding in parse_bindings(commit, text):
            latest[binding.tag] = binding
    order = {tag: index for index, (_, tag) in enumerate(project.release_tags())}
    return sorted(latest.values(), key=lambda b: (order.get(b.tag, len(order)), b.tag))


def require_model(binding: ModelBinding) -> str:
    if binding.no_model or binding.digest is None:
        raise TorchlaneError(
            f"{binding.tag} was released without a model (`finish --no-model`).",
            "Pick a release that shipped one: `torchlane model list`.",
        )
    return binding.digest


@dataclass(frozen=True)
class PushedModel:
    tag: str
    digest: str
    location: str
    uploaded: bool  # False: the store already held it


@dataclass(frozen=True)
class PushResult:
    store: str
    models: list[PushedModel]
    skipped: list[str] = field(default_factory=list)  # why a binding was not uploaded
    notes_pushed: bool = False


def local_copy(project: Project, binding: ModelBinding) -> Path | None:
    """This clone's copy of the bound checkpoint: the cache of `finish`, else the file where the
    evaluation found it, if its bytes are still the bound ones."""
    digest = require_model(binding)
    cached = cache_dir(project) / digest
    if cached.is_file() and sha256_file(cached) == digest:
        return cached
    if binding.checkpoint_path:
        path = project.root / binding.checkpoint_path
        if path.is_file() and sha256_file(path) == digest:
            return path
    return None


def push_models(project: Project, tags: list[str]) -> PushResult:
    """Upload the bound checkpoints (of `tags`, or of every release) and push the bindings."""
    store = open_store(project)
    named = bool(tags)
    bindings = (
        [find_binding(project, t, fetch=False) for t in tags]
        if named
        else [b for b in all_bindings(project) if not b.no_model]
    )
    pushed: list[PushedModel] = []
    skipped: list[str] = []
    for binding in bindings:
        digest = require_model(binding)
        source = local_copy(project, binding)
        if source is None:
            if store.has(digest):
                pushed.append(PushedModel(binding.tag, digest, store.location(digest), False))
                continue
            message = (
                f"{binding.tag}: this clone has no copy of checkpoint {digest[:12]} and the "
                "store does not hold it"
            )
            if named:
                raise TorchlaneError(
                    message + ".",
                    "Push it from the clone that finished the release (its copy is kept in "
                    ".git/torchlane/models), or put the evaluated file back at "
                    f"{binding.checkpoint_path}.",
                )
            skipped.append(message)
            continue
        uploaded = store.put(source, digest)
        pushed.append(PushedModel(binding.tag, digest, store.location(digest), uploaded))
        # The artefacts finish's release check made ([tool.torchlane.models] exports), beside it.
        for fmt, sha in binding.exports.items():
            from torchlane.models.export import SUFFIX, store_suffix

            made = cache_dir(project) / f"{digest}.exports" / SUFFIX[fmt]
            if made.is_file() and sha256_file(made) == sha:
                store.put(made, digest, store_suffix(fmt))
    remote = _remote(project)
    if remote is not None and project.git.ref_value(models_ref(project)) is not None:
        from torchlane.metrics.sync import push

        push(project.git, models_ref(project), remote)
        if project.git.ref_value(project.config.repro.notes_ref) is not None:
            push(project.git, project.config.repro.notes_ref, remote)
    return PushResult(store.spec, pushed, skipped, notes_pushed=remote is not None)


@dataclass(frozen=True)
class PullResult:
    tag: str
    digest: str
    path: str
    downloaded: bool  # False: the file there already had the bound digest


def pull_model(
    project: Project, tag: str, to: Path | None = None, *, force: bool = False
) -> PullResult:
    """Fetch the checkpoint `tag` shipped into `to` (default: where the evaluation found it),
    verified against the bound digest; a file that does not match is refused and not kept."""
    binding = find_binding(project, tag)
    digest = require_model(binding)
    name = binding.file_name or f"{digest}.pt"
    if to is None:
        relative = Path(binding.checkpoint_path or name)
        target = (relative if relative.is_absolute() else project.root / relative).resolve()
    else:
        target = to.resolve() / name
    if target.is_file():
        if sha256_file(target) == digest:
            return PullResult(binding.tag, digest, str(target), False)
        if not force:
            raise TorchlaneError(
                f"{target} exists and holds other weights than {binding.tag} shipped.",
                "Pull into another directory with --to DIR, or overwrite it with --force.",
            )
    store = open_store(project)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name_tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.incoming-")
    os.close(handle)
    temporary = Path(name_tmp)
    try:
        store.get(digest, temporary)
        found = sha256_file(temporary)
        if found != digest:
            raise TorchlaneError(
                f"The store's file for {binding.tag} does not match its digest: it has sha256 "
                f"{found[:12]}, the release bound {digest[:12]}. Nothing was written.",
                "The stored copy was damaged or replaced: push it again from a clone that has "
                f"the release's checkpoint (`torchlane model push {binding.tag}`), after removing "
                f"the bad file ({store.location(digest)}).",
            )
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    return PullResult(binding.tag, digest, str(target), True)


@dataclass(frozen=True)
class Change:
    name: str
    before: str | float | None
    after: str | float | None


@dataclass(frozen=True)
class ModelDiff:
    old: ModelBinding
    new: ModelBinding
    metrics: list[Change]  # every metric of either, with both values
    data_changed: bool
    environment: list[Change]  # only the keys that differ
    same_weights: bool


def diff_models(project: Project, old_tag: str, new_tag: str) -> ModelDiff:
    old, new = find_binding(project, old_tag), find_binding(project, new_tag)
    names = list(dict.fromkeys([*old.metrics, *new.metrics]))
    metrics = [Change(n, old.metrics.get(n), new.metrics.get(n)) for n in names]
    keys = list(dict.fromkeys([*old.environment, *new.environment]))
    environment = [
        Change(k, old.environment.get(k), new.environment.get(k))
        for k in keys
        if old.environment.get(k) != new.environment.get(k)
    ]
    same = old.weights_digest is not None and old.weights_digest == new.weights_digest
    return ModelDiff(
        old, new, metrics, old.data_fingerprint != new.data_fingerprint, environment, same
    )


def binding_summary(binding: ModelBinding) -> dict[str, object]:
    """What `model list --json` prints per release."""
    return {
        "tag": binding.tag,
        "commit": binding.commit,
        "digest": binding.digest,
        "weights_digest": binding.weights_digest,
        "size": binding.size,
        "metrics": {k: encode_number(v) for k, v in binding.metrics.items()},
        "data_fingerprint": binding.data_fingerprint,
        "no_model": binding.no_model,
        "run": binding.run.run_id if binding.run else None,
        "created_at": binding.created_at,
    }
