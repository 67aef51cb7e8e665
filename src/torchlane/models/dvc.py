"""DVC-tracked data: its version from DVC's own hashes, and restoring it in a checkout.

When a repository uses DVC (`dvc.yaml`/`dvc.lock` or `.dvc` files), the data it declares is
identified by the md5s DVC already recorded for it (a stage's `outs` in dvc.lock, an `outs` entry
of a `.dvc` file; a directory's md5 ends in `.dir`): fingerprinting a data set of hundreds of
gigabytes then reads a few lines of YAML instead of every byte. These are the hashes of the data
as DVC last recorded it; `dvc status` tells whether the work tree still matches them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from torchlane import proc
from torchlane.errors import TorchlaneError


@dataclass(frozen=True)
class TrackedOutput:
    path: str  # relative to the repository root, posix
    md5: str  # DVC's hash (a directory's ends in ".dir")


def uses_dvc(root: Path) -> bool:
    return (
        (root / "dvc.yaml").is_file() or (root / "dvc.lock").is_file() or (root / ".dvc").is_dir()
    )


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TorchlaneError(
            f"{path} cannot be read as DVC's YAML: {exc}",
            "Fix the file (or regenerate it: `dvc commit`, `dvc repro`), then run again.",
        ) from exc


def _outs(entries: Any, base: PurePosixPath) -> list[TrackedOutput]:
    found = []
    for out in entries if isinstance(entries, list) else []:
        if not isinstance(out, dict) or "path" not in out:
            continue
        md5 = out.get("md5") or out.get("etag") or out.get("checksum")
        if md5:
            found.append(TrackedOutput(str(base / str(out["path"])).lstrip("./") or ".", str(md5)))
    return found


def tracked_outputs(root: Path) -> list[TrackedOutput]:
    """Every output DVC recorded a hash for: dvc.lock stages' outs (relative to the lock's
    directory) and `.dvc` files' outs (relative to the file's directory)."""
    found: list[TrackedOutput] = []
    for lock in sorted(root.rglob("dvc.lock")):
        if ".dvc" in lock.relative_to(root).parts:
            continue
        data = _load_yaml(lock) or {}
        base = PurePosixPath(lock.parent.relative_to(root).as_posix())
        stages = data.get("stages", {}) if isinstance(data, dict) else {}
        for stage in stages.values() if isinstance(stages, dict) else []:
            if isinstance(stage, dict):
                found += _outs(stage.get("outs"), base)
    for dvcfile in sorted(root.rglob("*.dvc")):
        parts = dvcfile.relative_to(root).parts
        if ".dvc" in parts[:-1] or ".git" in parts or not dvcfile.is_file():
            continue
        data = _load_yaml(dvcfile) or {}
        base = PurePosixPath(dvcfile.parent.relative_to(root).as_posix())
        found += _outs(data.get("outs") if isinstance(data, dict) else None, base)
    return [TrackedOutput(_normal(o.path), o.md5) for o in found]


def _normal(path: str) -> str:
    parts = [p for p in PurePosixPath(path).parts if p not in (".", "")]
    return "/".join(parts) or "."


def dvc_hash(root: Path, path: str, outputs: Sequence[TrackedOutput] | None = None) -> str | None:
    """One hash for the data at `path` from DVC's records, or None when DVC does not cover it.

    `path` may be a tracked output, lie inside one (the output's hash stands for it: DVC hashes
    directories as a whole), or be a directory holding several tracked outputs (all of them,
    when nothing under it is untracked by DVC: otherwise None, and the caller hashes the files).
    """
    if not uses_dvc(root):
        return None
    outputs = tracked_outputs(root) if outputs is None else outputs
    wanted = _normal(path)
    covering = [o for o in outputs if wanted == o.path or wanted.startswith(o.path + "/")]
    if covering:
        chosen = max(covering, key=lambda o: len(o.path))
        return f"dvc-md5:{chosen.md5}"
    inside = sorted((o for o in outputs if o.path.startswith(wanted + "/")), key=lambda o: o.path)
    if not inside:
        return None
    target = root / wanted
    tracked = {o.path for o in inside}
    for file in target.rglob("*") if target.is_dir() else []:
        relative = file.relative_to(root).as_posix()
        known = any(relative == t or relative.startswith(t + "/") for t in tracked)
        if file.is_file() and not known and not file.name.endswith((".dvc", ".gitignore")):
            return None  # data DVC does not know: hash the files instead
    digest = hashlib.sha256()
    for out in inside:
        digest.update(f"{out.path}\0{out.md5}\n".encode())
    return f"dvc-md5s:{digest.hexdigest()}"


def dvc_fingerprint(root: Path, paths: Iterable[str]) -> str | None:
    """One fingerprint for several data paths, when DVC covers every one of them."""
    if not uses_dvc(root):
        return None
    outputs = tracked_outputs(root)
    hashes = [(p, dvc_hash(root, p, outputs)) for p in paths]
    if not hashes or any(h is None for _, h in hashes):
        return None
    digest = hashlib.sha256()
    for path, value in sorted(hashes):
        digest.update(f"{_normal(path)}\0{value}\n".encode())
    return f"dvc:{digest.hexdigest()}"


def _dvc_command() -> str:
    # Beside this interpreter first: a venv's dvc is there even when the venv is not activated.
    found = shutil.which("dvc", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                      os.environ.get("PATH", "")]))  # fmt: skip
    if found is None:
        raise TorchlaneError(
            "This repository uses DVC, but the `dvc` command is not installed, so the recorded "
            "data version cannot be restored.",
            "Install DVC (`pip install dvc`, with the extra of your remote, e.g. dvc[s3]).",
        )
    return found


def restore_data(tree: Path, shared_root: Path) -> list[str]:
    """Put the data version recorded at `tree`'s commit into `tree` (a worktree): DVC's cache of
    the main checkout is shared (no copy), then `dvc checkout`, and `dvc pull` for what that
    cache lacks. Returns what was done, for the report."""
    dvc = _dvc_command()
    done: list[str] = []
    cache = shared_root / ".dvc" / "cache"
    if cache.is_dir():
        shared = proc.run(
            [dvc, "config", "--local", "cache.dir", str(cache)], cwd=tree, check=False
        )
        if shared.returncode != 0:
            raise TorchlaneError(
                f"DVC refused to use the cache {cache} in the reproduction: "
                + (shared.stderr.strip().splitlines() or ["no output"])[-1],
                "Run `dvc doctor` in the repository to see what DVC makes of it.",
            )
    checkout = proc.run([dvc, "checkout", "--force"], cwd=tree, check=False)
    if checkout.returncode == 0:
        done.append("data restored with `dvc checkout` from the local DVC cache")
        return done
    pulled = proc.run([dvc, "pull", "--force"], cwd=tree, check=False)
    if pulled.returncode != 0:
        tail = (pulled.stderr or pulled.stdout).strip().splitlines()[-3:]
        raise TorchlaneError(
            "DVC could not restore the recorded data version: `dvc pull` failed:\n  "
            + "\n  ".join(tail),
            "Make the DVC remote reachable (`dvc remote list`, credentials), or `dvc fetch` the "
            "data of that commit into the cache first.",
        )
    done.append("data restored with `dvc pull` from the DVC remote")
    return done
