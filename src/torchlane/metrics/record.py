"""One evaluation of one commit, as stored in git notes (one JSON object per line).

JSON has no NaN or infinity, and a metric that came out NaN must stay visibly NaN (the gate
treats it as a failure, never as a pass), so non-finite values are written as the strings
"nan", "inf" and "-inf". Per-example results are packed (bits for correct/incorrect, zlib'd
float32 for scores) so a 10,000-example record stays a few kilobytes.

Bootstrap replicates make any metric pairable: every evaluation computes each metric on the same
B resamples of its examples (drawn by a counter-based generator from the ids fingerprint alone,
see evaluate/resample.py), so two evaluations over the same examples can be compared resample by
resample, without keeping logits. They are stored as float16 deviations from the metric's value
(about 2 bytes per resample per metric), or float32 values when a deviation does not fit.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import struct
import zlib
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from torchlane.metrics.signing import Signature, signature_of

SCHEMA_VERSION = 1

PerExampleKind = Literal["correct", "score"]
# Per-example results torchlane reads from one record (a large evaluation set has a few million).
MAX_PER_EXAMPLE = 10_000_000


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
        if not 0 <= count <= MAX_PER_EXAMPLE:
            raise ValueError(
                f"per-example data claims {count} values; torchlane reads 0 to {MAX_PER_EXAMPLE}"
            )
        raw = base64.b64decode(data["data"], validate=True)
        values: tuple[float, ...]
        if data["encoding"] == "bits-b64":
            if len(raw) != (count + 7) // 8:
                raise ValueError(f"per-example data holds {len(raw)} bytes, not {count} bits")
            values = tuple(float((raw[i // 8] >> (i % 8)) & 1) for i in range(count))
        elif data["encoding"] == "f32-zlib-b64":
            # Never inflate more than `count` values: zeros compress 1000:1, so an unchecked
            # 200 KB note can expand to 200 MB (and 50 million Python floats).
            inflater = zlib.decompressobj()
            unpacked = inflater.decompress(raw, 4 * count + 1)
            if len(unpacked) != 4 * count or not inflater.eof:
                raise ValueError(f"per-example data does not hold exactly {count} values")
            values = struct.unpack(f"<{count}f", unpacked)
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


def _pack_floats(values: tuple[float, ...], centre: float | None = None) -> dict[str, Any]:
    if centre is not None and math.isfinite(centre):
        deviations = [v - centre for v in values]
        if all(math.isfinite(d) and abs(d) < 6e4 for d in deviations):
            packed = struct.pack(f"<{len(deviations)}e", *deviations)
            data = base64.b64encode(zlib.compress(packed, 9)).decode("ascii")
            return {"encoding": "f16-deviation-zlib-b64", "centre": centre, "data": data}
    packed = struct.pack(f"<{len(values)}f", *values)
    return {"encoding": "f32-zlib-b64", "data": base64.b64encode(zlib.compress(packed, 9)).decode()}


def _unpack_floats(data: dict[str, Any], count: int) -> tuple[float, ...]:
    raw = zlib.decompress(base64.b64decode(data["data"], validate=True))
    if data["encoding"] == "f16-deviation-zlib-b64":
        if len(raw) != 2 * count:
            raise ValueError(f"replicates hold {len(raw) // 2} values, not {count}")
        centre = float(data["centre"])
        return tuple(centre + d for d in struct.unpack(f"<{count}e", raw))
    if data["encoding"] == "f32-zlib-b64":
        if len(raw) != 4 * count:
            raise ValueError(f"replicates hold {len(raw) // 4} values, not {count}")
        return tuple(struct.unpack(f"<{count}f", raw))
    raise ValueError(f"unknown replicate encoding {data['encoding']!r}")


RESAMPLE_SCHEME = "splitmix64-v1"


@dataclass(frozen=True)
class Replicates:
    """Each metric recomputed on `count` bootstrap resamples of the evaluation's examples.

    The resamples depend only on (scheme, count, n, ids_fingerprint): two evaluations with equal
    values there used the very same resamples, so their replicates pair.
    """

    scheme: str
    count: int
    n: int
    ids_fingerprint: str
    metrics: dict[str, tuple[float, ...]]
    centres: dict[str, float] = field(default_factory=dict)  # each metric's value (encoding)

    def pairs_with(self, other: Replicates) -> bool:
        return (self.scheme, self.count, self.n, self.ids_fingerprint) == (
            other.scheme, other.count, other.n, other.ids_fingerprint,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "count": self.count,
            "n": self.n,
            "ids_fingerprint": self.ids_fingerprint,
            "metrics": {
                name: _pack_floats(values, self.centres.get(name))
                for name, values in self.metrics.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Replicates:
        count = int(data["count"])
        packed = dict(data["metrics"])
        metrics = {str(k): _unpack_floats(v, count) for k, v in packed.items()}
        centres = {str(k): float(v["centre"]) for k, v in packed.items() if "centre" in v}
        return cls(
            str(data["scheme"]), count, int(data["n"]), str(data["ids_fingerprint"]), metrics,
            centres,
        )  # fmt: skip


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
    replicates: Replicates | None = None
    # The per-example data and replicates as stored, when they were read without decoding them
    # (views that only show metrics): written back as they came.
    per_example_packed: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    replicates_packed: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("per_example_packed", "replicates_packed"):
                continue
            if f.name == "signature":
                if self.signature is not None:
                    data["signature"] = self.signature.to_json()
            elif f.name == "replicates":  # absent when none: older records stay byte-identical
                packed = self.replicates.to_json() if self.replicates else None
                if packed or self.replicates_packed:
                    data["replicates"] = packed or self.replicates_packed
            elif f.name == "per_example":  # not asdict: it would copy every value once more
                packed = self.per_example.to_json() if self.per_example else None
                data["per_example"] = packed or self.per_example_packed
            elif f.name == "metrics":
                data["metrics"] = {k: encode_number(v) for k, v in self.metrics.items()}
            else:
                data[f.name] = copy.deepcopy(getattr(self, f.name))
        return data

    def to_line(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, data: dict[str, Any], *, per_example: bool = True) -> EvaluationRecord:
        """`per_example=False` keeps the per-example data packed, unchecked and undecoded."""
        if not isinstance(data, dict) or "commit" not in data or "metrics" not in data:
            raise ValueError("not an evaluation record (no commit or metrics)")
        if int(data.get("schema", 1)) > SCHEMA_VERSION:
            raise ValueError(
                f"record schema {data['schema']} is newer than this torchlane understands"
            )
        packed = data.get("per_example")
        replicates = data.get("replicates")
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
            per_example=PerExample.from_json(packed) if packed and per_example else None,
            extra=dict(data.get("extra") or {}),
            signature=signature_of(data),
            per_example_packed=None if per_example or not packed else dict(packed),
            replicates=Replicates.from_json(replicates) if replicates and per_example else None,
            replicates_packed=None if per_example or not replicates else dict(replicates),
        )

    @classmethod
    def from_line(cls, line: str, *, per_example: bool = True) -> EvaluationRecord:
        return cls.from_json(json.loads(line), per_example=per_example)
