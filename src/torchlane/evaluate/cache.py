"""The evaluation cache: `.git/torchlane/eval-cache/<key>.json`, one full result per key.

The key covers everything that can change a result: the checkpoint's bytes, the validation data,
the evaluation code, the settings (seed, batch size, autocast, determinism, which functions), and
the environment (python, torch, CUDA, cuDNN, device type and name). DVC's run cache leaves the
environment out, so a torch upgrade silently reuses stale numbers; this one does not.

Which files are "the evaluation code" is learnt: the modules named in the configuration, the
configured code paths, and every project module the last evaluation actually imported (kept in a
small manifest), so an edit to a helper that `data.py` imports is a cache miss too.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlane.fingerprint import HashMemo, sha256_json, sha256_tree
from torchlane.leanfs import write_atomic
from torchlane.metrics.record import PerExample, Replicates, decode_number, encode_number

CACHE_VERSION = 2  # 2: entries keep bootstrap replicates; the checkpoint key is its weights


@dataclass(frozen=True)
class CachedEvaluation:
    metrics: dict[str, float]
    per_example: PerExample | None
    duration_s: float
    replicates: Replicates | None = None


class EvalCache:
    def __init__(self, state_dir: Path):
        self.folder = state_dir / "eval-cache"
        self.memo = HashMemo(state_dir / "hash-memo.json")

    # --- which files are the evaluation code ------------------------------------------------

    def _manifest_path(self, settings_key: str) -> Path:
        return self.folder / "code" / f"{settings_key}.json"

    def code_files(self, root: Path, declared: list[Path], settings_key: str) -> list[Path]:
        learnt: list[str] = []
        try:
            learnt = list(json.loads(self._manifest_path(settings_key).read_text("utf-8")))
        except (OSError, ValueError, TypeError):
            learnt = []
        files = {p.resolve() for p in declared}
        files.update((root / name).resolve() for name in learnt if (root / name).exists())
        return sorted(files)

    def remember_code_files(self, root: Path, files: list[Path], settings_key: str) -> None:
        names = sorted({p.resolve().relative_to(root.resolve()).as_posix() for p in files})
        # A manifest that cannot be written only costs a cache miss next time.
        with contextlib.suppress(OSError):
            write_atomic(self._manifest_path(settings_key), json.dumps(names))

    def code_fingerprint(self, root: Path, files: list[Path]) -> str:
        return sha256_tree(files, root.resolve(), self.memo)

    # --- the checkpoint command's last run ---------------------------------------------------

    def _command_path(self, inputs_key: str) -> Path:
        return self.folder / "checkpoint-command" / f"{inputs_key}.json"

    def command_output(self, inputs_key: str) -> tuple[str, str] | None:
        """(checkpoint path relative to the root, its sha256) that the checkpoint command made
        from these inputs, or None."""
        try:
            data = json.loads(self._command_path(inputs_key).read_text("utf-8"))
            return str(data["checkpoint"]), str(data["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember_command_output(self, inputs_key: str, checkpoint: str, sha256: str) -> None:
        # A record that cannot be written only costs running the command again next time.
        with contextlib.suppress(OSError):
            write_atomic(
                self._command_path(inputs_key),
                json.dumps({"checkpoint": checkpoint, "sha256": sha256}),
            )

    # --- results ----------------------------------------------------------------------------

    @staticmethod
    def key(components: dict[str, Any]) -> str:
        return sha256_json({"cache_version": CACHE_VERSION, **components})

    def _entry_path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> CachedEvaluation | None:
        """The stored result, or None. An unreadable entry is a miss (and is overwritten later)."""
        try:
            data = json.loads(self._entry_path(key).read_text(encoding="utf-8"))
            if data.get("key") != key:
                return None
            per_example = data.get("per_example")
            replicates = data.get("replicates")
            return CachedEvaluation(
                {str(k): decode_number(v) for k, v in data["metrics"].items()},
                PerExample.from_json(per_example) if per_example else None,
                float(data.get("duration_s", 0.0)),
                Replicates.from_json(replicates) if replicates else None,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(
        self,
        key: str,
        components: dict[str, Any],
        metrics: dict[str, float],
        per_example: PerExample | None,
        duration_s: float,
        *,
        replicates: Replicates | None = None,
    ) -> bool:
        entry = {
            "key": key,
            "components": components,
            "metrics": {k: encode_number(v) for k, v in metrics.items()},
            "per_example": per_example.to_json() if per_example else None,
            "duration_s": duration_s,
            "replicates": replicates.to_json() if replicates else None,
        }
        try:
            write_atomic(self._entry_path(key), json.dumps(entry, allow_nan=False))
        except OSError:
            return False
        return True
