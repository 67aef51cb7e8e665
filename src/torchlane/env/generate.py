"""`torchlane env generate`: Dockerfile, .dockerignore, compose.yaml and devcontainer.json from the
declaration, shown as a diff, never overwriting a hand edit without --force."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from torchlane.env.matrix import load_matrix
from torchlane.env.spec import EnvSpec
from torchlane.env.templates import SEAL, TEMPLATES, Plan
from torchlane.errors import TorchlaneError
from torchlane.fingerprint import sha256_text

_SEALED = re.compile(re.escape(SEAL) + r"([0-9a-f]{64})")


@dataclass(frozen=True)
class PlannedFile:
    path: str
    status: str  # "create", "update", "unchanged", "hand-edited"
    diff: str


@dataclass
class GenerateResult:
    base_image: str
    files: list[PlannedFile]
    written: list[str] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)


def seal(text: str) -> str:
    """Fill the template's seal slot with the hash of the text around it."""
    unsealed = text.replace(SEAL + "{seal}", SEAL)
    return text.replace(SEAL + "{seal}", SEAL + sha256_text(unsealed))


def is_own_output(text: str) -> bool:
    """True when `text` is an unmodified earlier output of `env generate`."""
    match = _SEALED.search(text)
    if match is None:
        return False
    return sha256_text(text.replace(match.group(0), SEAL, 1)) == match.group(1)


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
        from torchlane.env.images import check_image

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


def _diff(path: str, old: str | None, new: str) -> str:
    before = [] if old is None else old.splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(before, new.splitlines(keepends=True), f"a/{path}", f"b/{path}")
    )


def generate(
    root: Path, spec: EnvSpec, *, force: bool = False, dry_run: bool = False
) -> GenerateResult:
    warnings: list[str] = []
    image = base_image(spec, warnings)
    lock = root / spec.lock
    if not lock.is_file():
        warnings.append(f"{spec.lock} does not exist yet: run `torchlane env lock` before building")
    has_hashes = not lock.is_file() or "--hash" in lock.read_text(
        encoding="utf-8", errors="replace"
    )
    plan = Plan(image, spec.cuda_version is not None, spec.python, spec.lock, has_hashes,
                spec.jupyter_port, spec.tensorboard_port, spec.shm_size, spec.memory, root.name)  # fmt: skip
    planned: list[tuple[PlannedFile, str]] = []
    for path, template in TEMPLATES.items():
        content = seal(template(plan))
        target = root / path
        old = target.read_text(encoding="utf-8") if target.is_file() else None
        if old is None:
            status = "create"
        elif old == content:
            status = "unchanged"
        elif is_own_output(old):
            status = "update"
        else:
            status = "hand-edited"
        planned.append(
            (
                PlannedFile(
                    path, status, _diff(path, old, content) if status != "unchanged" else ""
                ),
                content,
            )
        )
    result = GenerateResult(image, [p for p, _ in planned], dry_run=dry_run, warnings=warnings)
    edited = [p.path for p in result.files if p.status == "hand-edited"]
    if edited and not force and not dry_run:
        raise TorchlaneError(
            f"{', '.join(edited)} changed since torchlane generated {'it' if len(edited) == 1 else 'them'} (or {'was' if len(edited) == 1 else 'were'} written by hand); nothing was written.",
            "Review the diff with `torchlane env generate --dry-run`, then rerun with --force to overwrite.",
        )
    if dry_run:
        return result
    for planned_file, content in planned:
        if planned_file.status == "unchanged":
            continue
        target = root / planned_file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, target)
        result.written.append(planned_file.path)
    return result
