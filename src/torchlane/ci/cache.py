"""Which stages can be skipped: a stage whose inputs are unchanged since its last green run here.

The key of a stage is a hash of its command, the interpreter, torchlane and every installed
package's version, and the content of every file its pathspecs match in the working tree
(tracked and untracked, not ignored, the pipeline's own artifacts left out) — hashed by git
itself in one `git hash-object --stdin-paths` call. Stages that also depend on refs or notes
(verify, gate) add every ref's value to the key; evaluate, which records for the checked-out
commit, adds HEAD.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from pathlib import Path

from torchlane import __version__
from torchlane.ci.stages import Stage
from torchlane.git import Git
from torchlane.leanfs import write_atomic

CACHE_FILE = "ci-cache.json"


def _matching_files(git: Git, pathspecs: tuple[str, ...], excluded: tuple[str, ...]) -> list[str]:
    specs = [f":(glob)**/{p}" if "/" not in p and p != "*" else p for p in pathspecs]
    # What the pipeline writes itself (its artifacts) is never one of its inputs.
    specs += [f":(exclude){folder.rstrip('/')}/" for folder in excluded]
    return sorted({name for name in git.files(*specs) if (git.cwd / name).is_file()})


@functools.cache
def installed_packages() -> str:
    """Every installed distribution and its version: upgrading torch, ruff or pytest re-runs."""
    from importlib.metadata import distributions

    found = sorted({f"{d.metadata['Name']}=={d.version}" for d in distributions()})
    return hashlib.sha256("\n".join(found).encode()).hexdigest()


def stage_key(
    git: Git,
    stage: Stage,
    file_hashes: dict[tuple[str, ...], str],
    excluded: tuple[str, ...] = (),
) -> str:
    digest = hashlib.sha256()
    versions = [stage.command, platform.python_version(), __version__, installed_packages()]
    digest.update(json.dumps(versions).encode())
    if stage.inputs not in file_hashes:
        files = _matching_files(git, stage.inputs, excluded)
        blobs = (
            git.run("hash-object", "--stdin-paths", input="\n".join(files) + "\n").stdout
            if files
            else ""
        )
        file_hashes[stage.inputs] = hashlib.sha256(
            "\n".join(f"{f} {b}" for f, b in zip(files, blobs.split(), strict=True)).encode()
        ).hexdigest()
    digest.update(file_hashes[stage.inputs].encode())
    if stage.keyed_on_refs:
        digest.update("".join(f"{ref} {tip}\n" for ref, tip in git.ref_tips().items()).encode())
    if stage.keyed_on_refs or stage.keyed_on_head:
        digest.update((git.rev("HEAD") or "").encode())
    return digest.hexdigest()


class StageCache:
    def __init__(self, state_dir: Path):
        self.path = state_dir / CACHE_FILE
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._green: dict[str, str] = dict(data) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self._green = {}

    def is_green(self, stage: str, key: str) -> bool:
        return self._green.get(stage) == key

    def mark_green(self, stage: str, key: str) -> None:
        self._green[stage] = key

    def forget(self, stage: str) -> None:
        self._green.pop(stage, None)

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self._green, indent=1, sort_keys=True))
