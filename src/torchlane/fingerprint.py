"""Content hashes and the environment fingerprint shared by evaluation, caches and run manifests."""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_tree(paths: Iterable[Path], root: Path | None = None) -> str:
    """One hash over files (and every file under directories), independent of listing order.

    Names are hashed relative to `root` so that the same data in another checkout hashes alike.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            files.append(path)
    digest = hashlib.sha256()
    for file in sorted(set(files)):
        name = file.relative_to(root).as_posix() if root else file.as_posix()
        digest.update(name.encode("utf-8") + b"\0" + sha256_file(file).encode("ascii") + b"\n")
    return digest.hexdigest()


def environment_fingerprint(device: str | None = None) -> dict[str, str | None]:
    """Python, torch build, CUDA runtime and cuDNN as torch itself reports them (not nvcc on PATH).

    Imports torch: call it only where torch is needed anyway.
    """
    info: dict[str, str | None] = {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": f"{platform.system()}-{platform.machine()}",
        "torch": None,
        "cuda": None,
        "cudnn": None,
        "device": device,
    }
    try:
        import torch
    except ImportError:
        return info
    info["torch"] = str(torch.__version__)
    info["cuda"] = torch.version.cuda
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    info["cudnn"] = str(cudnn) if cudnn is not None else None
    return info


def expand_globs(root: Path, patterns: Iterable[str]) -> list[Path]:
    """Files under `root` matching any glob (`**` spans directories), sorted, without duplicates."""
    found: set[Path] = set()
    for pattern in patterns:
        found.update(path for path in root.glob(pattern) if path.is_file())
    return sorted(found)


def file_hashes(files: Iterable[Path], root: Path) -> dict[str, str]:
    """{path relative to root (posix): sha256} for each file."""
    return {file.relative_to(root).as_posix(): sha256_file(file) for file in sorted(files)}
