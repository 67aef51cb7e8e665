"""Docker image references: `[registry/]path[:tag][@digest]`, split by hand (the grammar is small
and fixed, see distribution/reference), so that hooks need no extra dependency."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True, kw_only=True)
class ImageRef:
    text: str
    registry: str | None  # None: Docker Hub
    repository: str  # e.g. "pytorch/pytorch", "library/python", "nvidia/cuda"
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The repository as people write it: 'python' rather than 'library/python'."""
        repo = self.repository.removeprefix("library/")
        return repo if self.registry is None else f"{self.registry}/{repo}"

    def with_tag(self, tag: str) -> str:
        return f"{self.name}:{tag}"


def parse_image(text: str) -> ImageRef | None:
    """The parts of an image reference, or None when it is not one (e.g. an unresolved $VAR)."""
    ref = text.strip()
    if not ref or "$" in ref or any(ch.isspace() for ch in ref):
        return None
    rest, _, digest = ref.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        return None
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            return None
    parts = rest.split("/")
    registry = None
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry = parts[0]
        parts = parts[1:]
    if registry in _HUB:
        registry = None
    if not parts or not all(
        re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", p) for p in parts
    ):
        return None
    repository = "/".join(parts)
    if registry is None and len(parts) == 1:
        repository = f"library/{repository}"
    return ImageRef(
        text=ref, registry=registry, repository=repository, tag=tag, digest=digest or None
    )
