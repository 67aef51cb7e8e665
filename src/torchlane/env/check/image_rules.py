"""Rules for base images: pinned, and (for pytorch/pytorch and python) a tag that can exist."""

from __future__ import annotations

import re
from dataclasses import dataclass

from torchlane.env.check.findings import Finding
from torchlane.env.imageref import ImageRef, parse_image
from torchlane.env.matrix import Matrix, parse_version, version_key

_PYTORCH_REPOS = ("pytorch/pytorch", "ghcr.io/pytorch/pytorch")
_GPU_TAG = re.compile(r"(\d+\.\d+\.\d+)-cuda(\d+\.\d+)-cudnn(\d+)-(runtime|devel)")
_CPU_TAG = re.compile(r"(\d+\.\d+\.\d+)-(runtime|devel)")
# nvidia/cuda: 12.1.0-cudnn8-runtime-ubuntu22.04, 11.8.0-devel-ubuntu22.04, 12.4.1-base-...
_CUDA_REPOS = ("nvidia/cuda", "nvcr.io/nvidia/cuda")
_CUDA_TAG = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?-.*")
_PYTHON_TAG = re.compile(r"(3\.\d{1,2})(?:\.\d+)?(?:[-.].*)?")


@dataclass(frozen=True)
class ImageFacts:
    """What a base image tells us about the environment, for the cross-file rules."""

    torch: str | None = None
    cuda: str | None = None
    python: str | None = None


def _closest_tags(
    matrix: Matrix, ref: ImageRef, torch: str, cuda: str | None, flavor: str
) -> list[str]:
    release = matrix.release(torch)
    if release is None:
        return []
    patch = torch if torch in release.patches else release.latest_patch
    cudas = release.closest_cuda(cuda) if cuda else list(release.cuda_builds)
    return [ref.with_tag(release.image_tag(patch, c, flavor)) for c in cudas]


def _pytorch_tag(
    matrix: Matrix, ref: ImageRef, where: tuple[str, int]
) -> tuple[list[Finding], ImageFacts]:
    file, line = where
    tag = ref.tag or ""
    gpu = _GPU_TAG.fullmatch(tag)
    cpu = _CPU_TAG.fullmatch(tag)
    if gpu is None and cpu is None:
        return [
            Finding(
                severity="warning",
                rule="image-tag-unknown-scheme",
                file=file,
                line=line,
                message=f"{ref.text}: tag '{tag}' is not a release tag (X.Y.Z-cudaM.N-cudnnK-runtime|devel).",
                fix="Use a release tag, e.g. "
                + ", ".join(
                    _closest_tags(matrix, ref, matrix.newest.latest_patch, None, "runtime")[:1]
                )
                + ".",
            )
        ], ImageFacts()
    match = gpu or cpu
    assert match is not None
    torch = match.group(1)
    flavor = gpu.group(4) if gpu else match.group(2)
    release = matrix.release(torch)
    if release is None:
        if matrix.is_newer_than_data(torch):
            message = matrix.newer_than_data_message(torch)
            return [
                Finding(
                    severity="warning",
                    rule="torch-newer-than-data",
                    file=file,
                    line=line,
                    message=f"{ref.text}: {message}.",
                    fix="Check the tag on Docker Hub by hand until the data is updated.",
                )
            ], ImageFacts(torch)
        return [
            Finding(
                severity="warning",
                rule="torch-older-than-data",
                file=file,
                line=line,
                message=f"{ref.text}: torch {torch} is older than torchlane's compatibility data (from {matrix.oldest.minor}).",
                fix="Move to a supported release, or check the tag by hand.",
            )
        ], ImageFacts(torch)
    if gpu is None:
        return [
            Finding(
                severity="warning",
                rule="image-cpu-tag-unverified",
                file=file,
                line=line,
                message=f"{ref.text}: CPU tags of pytorch/pytorch are unverified: {matrix.cpu_tags_uncertain}.",
                fix="For a CPU image prefer python:3.X-slim plus a pinned torch wheel, or pull the tag once to confirm it.",
            )
        ], ImageFacts(torch, None)
    cuda, cudnn = gpu.group(2), int(gpu.group(3))
    facts = ImageFacts(torch, cuda)
    problems = []
    if torch not in release.patches and version_key(torch) < version_key(release.latest_patch):
        problems.append(
            f"torch {torch} was never released (known {release.minor} releases: {', '.join(release.patches)})"
        )
    if cuda not in release.cuda_builds:
        problems.append(
            f"torch {release.minor} was built for CUDA {', '.join(release.cuda_builds)}, not {cuda}"
        )
    if cudnn != release.cudnn_major:
        problems.append(f"its images carry cuDNN {release.cudnn_major}, not {cudnn}")
    if problems:
        suggestions = _closest_tags(matrix, ref, torch, cuda, flavor)
        return [
            Finding(
                severity="error",
                rule="image-tag-impossible",
                file=file,
                line=line,
                message=f"{ref.text} cannot exist: " + "; ".join(problems) + ".",
                fix="Use one of: " + ", ".join(suggestions) + ".",
            )
        ], facts
    if torch not in release.patches:
        return [
            Finding(
                severity="warning",
                rule="torch-patch-not-in-data",
                file=file,
                line=line,
                message=f"{ref.text}: torch {torch} is not in torchlane's data (known: {', '.join(release.patches)}).",
                fix="If it was released after the data was collected, check the tag by hand.",
            )
        ], facts
    return [], facts


def check_image(
    matrix: Matrix, text: str, file: str, line: int
) -> tuple[list[Finding], ImageFacts]:
    if text.lower() == "scratch":
        return [], ImageFacts()
    ref = parse_image(text)
    if ref is None:
        return [
            Finding(
                severity="warning",
                rule="image-unparsed",
                file=file,
                line=line,
                message=f"'{text}' is not an image reference torchlane can check (unresolved variable?).",
                fix="Give every ARG used in FROM a default, or write the image literally.",
            )
        ], ImageFacts()
    findings: list[Finding] = []
    if ref.tag in (None, "latest") and ref.digest is None:
        what = (
            "has no tag (so it means :latest)"
            if ref.tag is None
            else "uses the moving tag 'latest'"
        )
        findings.append(
            Finding(
                severity="error",
                rule="image-unpinned",
                file=file,
                line=line,
                message=f"{ref.text} {what}: every build may get a different image.",
                fix="Pin a release tag (and ideally a digest: image:tag@sha256:...).",
            )
        )
        return findings, ImageFacts()
    if ref.tag == "latest":
        findings.append(
            Finding(
                severity="warning",
                rule="image-latest-with-digest",
                file=file,
                line=line,
                message=f"{ref.text}: the digest pins it, but the tag 'latest' does not say what it is.",
                fix="Write the release tag next to the digest.",
            )
        )
    facts = ImageFacts()
    if ref.name in _PYTORCH_REPOS and ref.tag and ref.tag != "latest":
        tag_findings, facts = _pytorch_tag(matrix, ref, (file, line))
        findings += tag_findings
    elif ref.name in _CUDA_REPOS and ref.tag:
        cuda = _CUDA_TAG.fullmatch(ref.tag)
        facts = ImageFacts(cuda=f"{cuda.group(1)}.{cuda.group(2)}" if cuda else None)
    elif ref.repository == "library/python" and ref.tag and ref.tag != "latest":
        match = _PYTHON_TAG.fullmatch(ref.tag)
        facts = ImageFacts(python=match.group(1) if match else None)
        if match is None and ref.digest is None:
            findings.append(
                Finding(
                    severity="warning",
                    rule="image-tag-floating",
                    file=file,
                    line=line,
                    message=f"{ref.text}: the tag '{ref.tag}' moves to each new Python minor release.",
                    fix="Name the minor version, e.g. python:3.12-slim.",
                )
            )
    return findings, facts


def torch_of(requirement_version: str) -> tuple[str, str | None] | None:
    """'2.9.0+cu128' -> ('2.9.0', 'cu128')."""
    parsed = parse_version(requirement_version)
    if parsed is None:
        return None
    return ".".join(str(p) for p in parsed[0]), parsed[1]
