"""Finding "the latest weights", producing them with the project's command, and loading them."""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torchlane import proc
from torchlane.errors import TorchlaneError

_TAIL_LINES = 15


def _to_stderr(line: bytes) -> None:
    """A line of the checkpoint command's output, on stderr (stdout keeps `--json` clean)."""
    sys.stderr.write(line.decode("utf-8", "replace"))
    sys.stderr.flush()


def run_checkpoint_command(
    command: str | list[str], root: Path, timeout_s: float, env: Mapping[str, str] | None = None
) -> None:
    """Run the command that trains, pulls or downloads the weights, in the project root.

    A string runs through the shell (so `dvc pull && python fetch.py` works, as in a Makefile);
    a list runs as given. `python` in the command resolves to this interpreter's directory first.
    """
    shown = command if isinstance(command, str) else " ".join(command)
    run_env = dict(os.environ if env is None else env)
    run_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), run_env.get("PATH", "")])
    try:
        # Its output goes to stderr as it comes (a training run shows its progress), keeping
        # stdout for torchlane's own result (`--json`).
        done = proc.tee(
            command,
            echo=_to_stderr,
            shell=isinstance(command, str),
            cwd=root,
            env=run_env,
            timeout=timeout_s,
            keep_lines=_TAIL_LINES,
        )
    except proc.ProcTimeoutError as exc:
        raise TorchlaneError(
            f"The checkpoint command `{shown}` did not finish within {timeout_s:g} s.",
            "Raise [tool.torchlane.eval] command_timeout_s, or make the command faster.",
        ) from exc
    except OSError as exc:
        raise TorchlaneError(
            f"The checkpoint command `{shown}` could not start: {exc.strerror}.",
            "Check [tool.torchlane.eval] checkpoint_command.",
        ) from exc
    if not done.ok:
        tail = done.stdout.rstrip().splitlines()[-_TAIL_LINES:]
        output = "\n".join(f"    {line}" for line in tail) if tail else "    (no output)"
        raise TorchlaneError(
            f"The checkpoint command `{shown}` failed with exit code {done.returncode} "
            f"in {root}. Its last lines of output:\n{output}",
            "Fix the command (run it by hand in the project root to see everything), "
            "or change [tool.torchlane.eval] checkpoint_command.",
        )


def find_checkpoint(root: Path, pattern: str) -> Path:
    """The file `pattern` names, or the newest (by mtime) of the files it matches."""
    if not glob.has_magic(pattern):
        path = root / pattern
        if not path.is_file():
            raise TorchlaneError(
                f"The checkpoint {path} does not exist.",
                "Train or fetch the weights first, or set [tool.torchlane.eval] "
                "checkpoint_command to a command that produces them.",
            )
        return path
    matches = [Path(p) for p in glob.glob(str(root / pattern), recursive=True)]
    files = [p for p in matches if p.is_file()]
    if not files:
        raise TorchlaneError(
            f"No checkpoint matches {pattern!r} in {root}.",
            "Train or fetch the weights first, or set [tool.torchlane.eval] checkpoint "
            "(a path or glob) and checkpoint_command.",
        )
    return max(files, key=lambda p: (p.stat().st_mtime_ns, str(p)))


def load_state_dict(path: Path, key: str | None) -> dict[str, Any]:
    """Read a state_dict with `weights_only=True`: a checkpoint must not run code when loaded."""
    import pickle
    import zipfile

    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TorchlaneError(
            f"The checkpoint {path} cannot be read as PyTorch weights: {first}",
            "The file is truncated, corrupt or not saved with torch.save; train or fetch it again.",
        ) from exc
    if key:
        if not isinstance(loaded, dict) or key not in loaded:
            found = ", ".join(sorted(map(str, loaded))[:8]) if isinstance(loaded, dict) else "-"
            raise TorchlaneError(
                f"The checkpoint {path} has no entry {key!r} (it has: {found}).",
                "Correct [tool.torchlane.eval] state_dict_key.",
            )
        loaded = loaded[key]
    nested = (
        [k for k, v in loaded.items() if isinstance(v, dict)] if isinstance(loaded, dict) else []
    )
    if nested and not any(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise TorchlaneError(
            f"The checkpoint {path} holds a training checkpoint (entries: "
            f"{', '.join(sorted(map(str, loaded)))}), not a state_dict.",
            f"Name the model's entry: [tool.torchlane.eval] state_dict_key = {nested[0]!r}.",
        )
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise TorchlaneError(
            f"The checkpoint {path} does not hold a state_dict (got {type(loaded).__name__}).",
            "Save `model.state_dict()`, or name its entry with [tool.torchlane.eval] "
            "state_dict_key.",
        )
    return loaded


_WEIGHTS_HEADER = b"torchlane-weights-v1\n"


def _feed(digest: Any, name: str, value: Any) -> None:
    """Hash one entry of a loaded checkpoint: tensors by name, dtype, shape and bytes."""
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        header = f"T {name} {tensor.dtype} {tuple(tensor.shape)}\n"
        digest.update(header.encode("utf-8"))
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, Mapping):
        digest.update(f"D {name} {len(value)}\n".encode())
        for key in sorted(value, key=lambda k: (type(k).__name__, str(k))):
            _feed(digest, f"{name}/{key}", value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"L {name} {len(value)}\n".encode())
        for index, item in enumerate(value):
            _feed(digest, f"{name}/{index}", item)
    else:
        digest.update(f"V {name} {type(value).__name__} {value!r}\n".encode())


def weights_digest(path: Path) -> str:
    """A sha256 of the weights a checkpoint holds, not of the file's bytes.

    torch.save embeds the file's stem in the zip archive (and zip entry metadata), so the same
    weights saved as `a.pt` and `b.pt` are different files. This digest covers every tensor's
    name, dtype, shape and bytes (and the other entries' values), in sorted key order. A file
    torch cannot load with weights_only=True (another format) is digested by its bytes, under a
    different header, so the two kinds never collide.
    """
    import hashlib
    import pickle
    import zipfile

    import torch

    digest = hashlib.sha256(_WEIGHTS_HEADER)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError):
        other = hashlib.sha256(b"torchlane-file-v1\n")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                other.update(block)
        return other.hexdigest()
    _feed(digest, "", loaded)
    return digest.hexdigest()


def apply_state_dict(model: Any, state: dict[str, Any], path: Path) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        if len(detail) > 400:
            detail = detail[:400] + "..."
        raise TorchlaneError(
            f"The checkpoint {path} does not fit the model: {detail}",
            "The weights were saved from a different architecture; retrain, or check "
            "[tool.torchlane.eval] model and state_dict_key.",
        ) from exc
