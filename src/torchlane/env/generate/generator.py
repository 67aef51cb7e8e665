"""`torchlane env generate`: Dockerfile, .dockerignore, compose.yaml and devcontainer.json from the
declaration, shown as a diff, never overwriting a hand edit without --force."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from torchlane.env.generate.templates import SHARED_DIR, TEMPLATES, Plan, shared_compose
from torchlane.env.matrix import load_matrix
from torchlane.env.settings import EnvSpec
from torchlane.errors import TorchlaneError
from torchlane.generated import GeneratedFile, WriteStatus, plan_write, write_all

if TYPE_CHECKING:
    from torchlane.team.quotas import TeamPlan

# What each file would undergo, in the words `env generate` has always printed.
PlannedStatus = Literal["create", "update", "unchanged", "hand-edited"]

_STATUS: dict[WriteStatus, PlannedStatus] = {
    WriteStatus.CREATED: "create",
    WriteStatus.UPDATED: "update",
    WriteStatus.UNCHANGED: "unchanged",
    WriteStatus.REFUSED: "hand-edited",
}


@dataclass(frozen=True)
class PlannedFile:
    path: str
    status: PlannedStatus
    diff: str


@dataclass
class GenerateResult:
    base_image: str
    files: list[PlannedFile]
    written: list[str] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)


def _validate(spec: EnvSpec, warnings: list[str]) -> None:
    """Refuse a declaration the matrix says cannot work, naming the closest valid choice."""
    matrix = load_matrix()
    if spec.torch is None:
        return
    release = matrix.release(spec.torch)
    if release is None:
        if not matrix.is_newer_than_data(spec.torch):
            raise TorchlaneError(
                f"torch {spec.torch} is not a release torchlane knows.",
                f'Use e.g. torch = "{matrix.newest.latest_patch}".',
            )
        warnings.append(matrix.newer_than_data_message(spec.torch))
        return
    if not release.supports_python(spec.python):
        low, high = release.python_range
        raise TorchlaneError(
            f"torch {spec.torch} supports Python {low}..{high}, not {spec.python}.",
            f'Declare python = "{high}" (or another version between {low} and {high}).',
        )
    cuda = spec.cuda_version
    if cuda is not None and cuda not in release.cuda_builds:
        closest = release.closest_cuda(cuda)[0]
        raise TorchlaneError(
            f"torch {spec.torch} was not built for CUDA {cuda} "
            f"(builds: {', '.join(release.cuda_builds)}), so no image or wheel exists.",
            f'Set accelerator = "cuda{closest}" (the closest build) in [tool.torchlane.env].',
        )
    if spec.torch not in release.patches:
        warnings.append(
            f"torch {spec.torch} is not in torchlane's data; its image tag is unverified"
        )


def base_image(spec: EnvSpec, warnings: list[str]) -> str:
    _validate(spec, warnings)
    if spec.base_image:
        from torchlane.env.check.image_rules import check_image

        findings, _ = check_image(load_matrix(), spec.base_image, "pyproject.toml", 0)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise TorchlaneError(f"base_image {errors[0].message}", errors[0].fix)
        warnings += [f.message for f in findings]
        return spec.base_image
    if spec.accelerator == "cpu":
        return f"python:{spec.python}-slim"
    cuda = spec.cuda_version
    if cuda is None:
        raise TorchlaneError(
            f"accelerator '{spec.accelerator}' has no pytorch/pytorch image to derive a base from.",
            "Set base_image in [tool.torchlane.env] (e.g. a rocm/pytorch tag), or use cpu or cudaX.Y.",
        )
    matrix = load_matrix()
    if spec.torch is None:
        raise TorchlaneError(
            "a CUDA environment needs an exact torch release to pick its image.",
            f'Add torch = "{matrix.newest.latest_patch}" to [tool.torchlane.env].',
        )
    release = matrix.release(spec.torch)
    cudnn = release.cudnn_major if release else matrix.newest.cudnn_major
    warnings.append(
        f"the image's Python is the one pytorch/pytorch ships, which may differ from the declared {spec.python}"
    )
    return f"pytorch/pytorch:{spec.torch}-cuda{cuda}-cudnn{cudnn}-{spec.flavor}"


def _shared_files(
    root: Path, plan: Plan, team: TeamPlan, warnings: list[str]
) -> list[GeneratedFile]:
    files = [
        GeneratedFile(Path(SHARED_DIR) / f"compose.{seat.member}.yaml", shared_compose(plan, seat))
        for seat in team.seats
    ]
    if not plan.cuda and any(seat.gpus for seat in team.seats):
        warnings.append(
            "the environment is cpu: members' GPUs are reserved, but the image's torch cannot use them"
        )
    planned = {f.path.name for f in files}
    for stale in sorted((root / SHARED_DIR).glob("compose.*.yaml")):
        if stale.name not in planned:
            warnings.append(f"{SHARED_DIR}/{stale.name} belongs to no member any more: delete it")
    return files


def generate(
    root: Path,
    spec: EnvSpec,
    *,
    force: bool = False,
    dry_run: bool = False,
    team: TeamPlan | None = None,
) -> GenerateResult:
    """The declared environment's files; with `team`, also one compose file per member of the
    shared GPU server. All are written, or none (a hand edit refuses the whole set)."""
    warnings: list[str] = []
    image = base_image(spec, warnings)
    lock = root / spec.lock
    if not lock.is_file():
        warnings.append(f"{spec.lock} does not exist yet: run `torchlane env lock` before building")
    has_hashes = not lock.is_file() or "--hash" in lock.read_text(
        encoding="utf-8", errors="replace"
    )
    plan = Plan(
        base_image=image,
        cuda=spec.cuda_version is not None,
        python=spec.python,
        lock=spec.lock,
        require_hashes=has_hashes,
        jupyter_port=spec.jupyter_port,
        tensorboard_port=spec.tensorboard_port,
        shm_size=spec.shm_size,
        memory=spec.memory,
        project=root.name,
    )
    files = [
        GeneratedFile(Path(path), template(plan), comment)
        for path, (template, comment) in TEMPLATES.items()
    ]
    if team is not None:
        files += _shared_files(root, plan, team, warnings)
    outcomes = [plan_write(f, root) for f in files]
    result = GenerateResult(
        image,
        [PlannedFile(o.path.as_posix(), _STATUS[o.status], o.diff) for o in outcomes],
        dry_run=dry_run,
        warnings=warnings,
    )
    edited = [p.path for p in result.files if p.status == "hand-edited"]
    if edited and not force and not dry_run:
        one = len(edited) == 1
        raise TorchlaneError(
            f"{', '.join(edited)} changed since torchlane generated {'it' if one else 'them'} "
            f"(or {'was' if one else 'were'} written by hand); nothing was written.",
            "Review the diff with `torchlane env generate --dry-run`, then rerun with --force to overwrite.",
        )
    if dry_run:
        return result
    written = write_all(files, root, force=force)
    result.written = [o.path.as_posix() for o in written if o.status is not WriteStatus.UNCHANGED]
    return result
