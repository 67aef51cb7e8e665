"""Content hashes and the environment fingerprint shared by evaluation, caches and run manifests."""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from torchlane.leanfs import stat_signature, write_atomic

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_tree(
    paths: Iterable[Path], root: Path | None = None, memo: HashMemo | None = None
) -> str:
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
        content = memo.sha256(file) if memo else sha256_file(file)
        digest.update(name.encode("utf-8") + b"\0" + content.encode("ascii") + b"\n")
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


def sha256_json(value: object) -> str:
    """A hash of a JSON-able value that does not depend on dict ordering."""
    import json

    return sha256_text(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str))


class HashMemo:
    """Remembers file hashes by (size, mtime_ns, inode) so unchanged multi-gigabyte checkpoints and
    data sets are not re-read on every cache lookup (the idea of git's index stat data).

    A file whose mtime is within `_RACY_S` of the moment it was hashed is not remembered: it may
    still be being written, and a same-size rewrite within the clock's resolution would go unseen.
    """

    _RACY_S = 2.0

    def __init__(self, path: Path):
        self.path = path
        self._entries: dict[str, list[object]] = {}
        self._changed = False
        try:
            import json

            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, ValueError):
            self._entries = {}

    @staticmethod
    def _stat_key(path: Path) -> list[object]:
        signature = stat_signature(path)
        if signature is None:
            raise FileNotFoundError(path)
        return list(signature)  # a list: the entries travel through JSON

    def sha256(self, path: Path) -> str:
        return self.digest(path, sha256_file)

    def digest(self, path: Path, compute: Callable[[Path], str], kind: str = "") -> str:
        """`compute(path)`, remembered under the file's stat data (`kind` names other digests
        than the file's sha256, e.g. "weights:")."""
        import time

        name = kind + str(path.resolve())
        key = self._stat_key(path)
        entry = self._entries.get(name)
        if isinstance(entry, list) and len(entry) == 4 and entry[:3] == key:
            return str(entry[3])
        digest = compute(path)
        if time.time_ns() - int(str(key[1])) > self._RACY_S * 1e9:
            self._entries[name] = [*key, digest]
            self._changed = True
        return digest

    def save(self) -> None:
        """Write the memo atomically; a memo that cannot be written only costs re-hashing."""
        import json

        if not self._changed:
            return
        try:
            write_atomic(self.path, json.dumps(self._entries))
            self._changed = False
        except OSError:
            pass
