"""One evaluation of one commit, as stored in git notes (one JSON object per line).

JSON has no NaN or infinity, and a metric that came out NaN must stay visibly NaN (the gate
treats it as a failure, never as a pass), so non-finite values are written as the strings
"nan", "inf" and "-inf". Per-example results are packed (bits for correct/incorrect, zlib'd
float32 for scores) so a 10,000-example record stays a few kilobytes.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from torchlane.metrics.signing import Signature, signature_of

SCHEMA_VERSION = 1

PerExampleKind = Literal["correct", "score"]


def encode_number(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def decode_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("nan", "inf", "-inf"):
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


@dataclass(frozen=True)
class PerExample:
    """Per-example outcomes in a fixed example order, so two evaluations can be paired."""

    kind: PerExampleKind  # "correct": 1/0 per example; "score": a loss or score per example
    values: tuple[float, ...]
    ids_fingerprint: str  # sha256 of the example ids in order; pairing requires equal fingerprints
    higher_is_better: bool = True  # for "score": False when the score is a loss
    # The metric these values make up (its value is their mean). None in older records: the gate
    # then pairs them with the metric whose value equals their mean.
    metric: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.kind == "correct":
            bits = bytearray((len(self.values) + 7) // 8)
            for index, value in enumerate(self.values):
                if value:
                    bits[index // 8] |= 1 << (index % 8)
            payload = base64.b64encode(bytes(bits)).decode("ascii")
            encoding = "bits-b64"
        else:
            raw = struct.pack(f"<{len(self.values)}f", *self.values)
            payload = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
            encoding = "f32-zlib-b64"
        return {
            "kind": self.kind,
            "count": len(self.values),
            "encoding": encoding,
            "data": payload,
            "ids_fingerprint": self.ids_fingerprint,
            "higher_is_better": self.higher_is_better,
            **({"metric": self.metric} if self.metric is not None else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PerExample:
        count = int(data["count"])
        raw = base64.b64decode(data["data"], validate=True)
        values: tuple[float, ...]
        if data["encoding"] == "bits-b64":
            values = tuple(float((raw[i // 8] >> (i % 8)) & 1) for i in range(count))
        elif data["encoding"] == "f32-zlib-b64":
            values = struct.unpack(f"<{count}f", zlib.decompress(raw))
        else:
            raise ValueError(f"unknown per-example encoding {data['encoding']!r}")
        kind = data["kind"]
        if kind not in ("correct", "score"):
            raise ValueError(f"unknown per-example kind {kind!r}")
        if len(values) != count:
            raise ValueError(f"per-example data holds {len(values)} values, not {count}")
        metric = data.get("metric")
        return cls(
            kind,
            values,
            str(data["ids_fingerprint"]),
            bool(data.get("higher_is_better", True)),
            None if metric is None else str(metric),
        )


@dataclass(frozen=True)
class EvaluationRecord:
    commit: str
    metrics: dict[str, float]
    checkpoint_sha256: str | None = None
    checkpoint_path: str | None = None
    data_fingerprint: str | None = None
    environment: dict[str, str | None] = field(
        default_factory=dict
    )  # python, torch, cuda, cudnn, device
    seed: int | None = None
    dirty: bool = False
    branch: str | None = None
    created_at: str = ""  # ISO 8601, UTC
    torchlane_version: str = ""
    per_example: PerExample | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION
    # Who vouches for the record (metrics/signing.py); None: unsigned. Written only when set.
    signature: Signature | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["signature"]
        if self.signature is not None:
            data["signature"] = self.signature.to_json()
        data["metrics"] = {k: encode_number(v) for k, v in self.metrics.items()}
        data["per_example"] = self.per_example.to_json() if self.per_example else None
        return data

    def to_line(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvaluationRecord:
        if not isinstance(data, dict) or "commit" not in data or "metrics" not in data:
            raise ValueError("not an evaluation record (no commit or metrics)")
        if int(data.get("schema", 1)) > SCHEMA_VERSION:
            raise ValueError(
                f"record schema {data['schema']} is newer than this torchlane understands"
            )
        per_example = data.get("per_example")
        return cls(
            commit=str(data["commit"]),
            metrics={str(k): decode_number(v) for k, v in dict(data["metrics"]).items()},
            checkpoint_sha256=data.get("checkpoint_sha256"),
            checkpoint_path=data.get("checkpoint_path"),
            data_fingerprint=data.get("data_fingerprint"),
            environment=dict(data.get("environment") or {}),
            seed=data.get("seed"),
            dirty=bool(data.get("dirty", False)),
            branch=data.get("branch"),
            created_at=str(data.get("created_at", "")),
            torchlane_version=str(data.get("torchlane_version", "")),
            per_example=PerExample.from_json(per_example) if per_example else None,
            extra=dict(data.get("extra") or {}),
            signature=signature_of(data),
        )

    @classmethod
    def from_line(cls, line: str) -> EvaluationRecord:
        return cls.from_json(json.loads(line))
