"""The PyTorch compatibility matrix: which torch release ships which CUDA builds, images, Pythons.

The data lives in matrix.json next to this module (with its sources). Loading uses json only, so
hooks can afford it. `python -m torchlane.env.matrix --check` validates the file after an edit.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MATRIX_FILE = Path(__file__).with_name("matrix.json")
UPDATE_HINT = (
    "update torchlane, or add the release to torchlane/env/matrix.json (docs/environments.md)"
)
IMAGE_FLAVORS = ("runtime", "devel")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:[-.]?(?:a|b|rc|dev|post)\d*)*(?:\+([\w.]+))?")


def parse_version(text: str) -> tuple[tuple[int, int, int], str | None] | None:
    """'2.9.0+cu128' -> ((2, 9, 0), 'cu128'); None when it is not a release-like version."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    major, minor, patch, local = match.groups()
    return (int(major), int(minor), int(patch or 0)), local


def minor_of(text: str) -> str | None:
    parsed = parse_version(text)
    return None if parsed is None else f"{parsed[0][0]}.{parsed[0][1]}"


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


# The local-version labels of PyTorch's wheels (torch==2.9.0+cu128), each served by its own index.
BUILD_LABEL = re.compile(r"cpu|cu\d{2,4}|rocm\d+(?:\.\d+){1,2}")
WHEEL_INDEX = "https://download.pytorch.org/whl/{label}"


def build_label(accelerator: str) -> str:
    """'cuda12.8' -> 'cu128', 'rocm6.4' -> 'rocm6.4', 'cpu' -> 'cpu'."""
    return cuda_suffix(accelerator[4:]) if accelerator.startswith("cuda") else accelerator


def wheel_index(accelerator_or_label: str) -> str:
    """The PyTorch pip index serving an accelerator's (or a local label's) wheels."""
    label = accelerator_or_label
    return WHEEL_INDEX.format(label=build_label(label) if label.startswith("cuda") else label)


def cuda_suffix(cuda: str) -> str:
    """'12.8' -> 'cu128', the wheel index and local-version spelling."""
    return "cu" + cuda.replace(".", "")


@dataclass(frozen=True)
class Release:
    minor: str
    patches: tuple[str, ...]
    python_min: str
    python_max: str
    cuda_builds: tuple[str, ...]
    pypi_default_cuda: str | None
    cudnn_major: int
    conda_pytorch_cuda: tuple[str, ...]
    rocm: tuple[str, ...]
    uncertain: tuple[str, ...]

    @property
    def python_range(self) -> tuple[str, str]:
        return self.python_min, self.python_max

    @property
    def latest_patch(self) -> str:
        return max(self.patches, key=version_key)

    def supports_python(self, python: str) -> bool:
        key = version_key(python)[:2]
        return version_key(self.python_min) <= key <= version_key(self.python_max)

    def image_tag(self, patch: str, cuda: str | None, flavor: str = "runtime") -> str:
        if cuda is None:
            return f"{patch}-{flavor}"
        return f"{patch}-cuda{cuda}-cudnn{self.cudnn_major}-{flavor}"

    def image_tags(
        self, patch: str | None = None, flavors: tuple[str, ...] = IMAGE_FLAVORS
    ) -> list[str]:
        """The GPU tags of pytorch/pytorch for one patch release (default: all patches)."""
        patches = self.patches if patch is None else (patch,)
        return [
            self.image_tag(p, cuda, flavor)
            for p in patches
            for cuda in self.cuda_builds
            for flavor in flavors
        ]

    def closest_cuda(self, cuda: str) -> list[str]:
        """This release's CUDA builds, nearest to `cuda` first (same major preferred)."""
        wanted = version_key(cuda)

        def distance(candidate: str) -> tuple[int, int]:
            have = version_key(candidate)
            return (
                abs(have[0] - wanted[0]),
                abs((have[0] * 100 + have[1]) - (wanted[0] * 100 + wanted[1])),
            )

        return sorted(self.cuda_builds, key=distance)


@dataclass(frozen=True)
class CudaDriver:
    cuda: str
    family_min_driver: str
    toolkit_driver: str | None
    uncertain: tuple[str, ...]


@dataclass(frozen=True)
class Matrix:
    releases: dict[str, Release]
    cuda: dict[str, CudaDriver]
    sources: dict[str, str]
    collected: str
    cpu_tags_uncertain: str

    @property
    def newest(self) -> Release:
        return self.releases[max(self.releases, key=version_key)]

    @property
    def oldest(self) -> Release:
        return self.releases[min(self.releases, key=version_key)]

    def release(self, torch_version: str) -> Release | None:
        """The release a torch version belongs to ('2.9.0', '2.9.0+cu128', '2.9'), or None."""
        minor = minor_of(torch_version)
        return None if minor is None else self.releases.get(minor)

    def is_newer_than_data(self, torch_version: str) -> bool:
        minor = minor_of(torch_version)
        return minor is not None and version_key(minor) > version_key(self.newest.minor)

    def newer_than_data_message(self, torch_version: str) -> str:
        return (
            f"torch {torch_version} is newer than torchlane's compatibility data "
            f"(up to {self.newest.minor}); {UPDATE_HINT}"
        )

    def min_driver(self, cuda: str) -> str | None:
        """The lowest Linux driver that runs builds for `cuda` (minor-version compatibility)."""
        entry = self.cuda.get(cuda)
        return entry.family_min_driver if entry else None

    def toolkit_driver(self, cuda: str) -> str | None:
        """The driver shipped with the CUDA toolkit (needed for PTX JIT of newer code)."""
        entry = self.cuda.get(cuda)
        return entry.toolkit_driver if entry else None

    def image_tags(
        self, torch_version: str, cuda: str | None = None, flavor: str | None = None
    ) -> list[str]:
        release = self.release(torch_version)
        if release is None:
            return []
        parsed = parse_version(torch_version)
        patch = None
        if parsed is not None and torch_version.count(".") >= 2:
            patch = ".".join(str(p) for p in parsed[0])
        flavors = IMAGE_FLAVORS if flavor is None else (flavor,)
        tags = release.image_tags(patch, flavors)
        return [t for t in tags if cuda is None or f"-cuda{cuda}-" in t]


def _release(minor: str, raw: dict[str, Any]) -> Release:
    python = raw["python"]
    return Release(
        minor=minor,
        patches=tuple(raw["patches"]),
        python_min=python[0],
        python_max=python[1],
        cuda_builds=tuple(raw["cuda"]),
        pypi_default_cuda=raw.get("pypi_default_cuda"),
        cudnn_major=int(raw["cudnn_major"]),
        conda_pytorch_cuda=tuple(raw.get("conda_pytorch_cuda", ())),
        rocm=tuple(raw.get("rocm", ())),
        uncertain=tuple(raw.get("uncertain", ())),
    )


def parse_matrix(data: dict[str, Any]) -> Matrix:
    return Matrix(
        releases={minor: _release(minor, raw) for minor, raw in data["releases"].items()},
        cuda={
            cuda: CudaDriver(
                cuda,
                raw["family_min_driver"],
                raw.get("toolkit_driver"),
                tuple(raw.get("uncertain", ())),
            )
            for cuda, raw in data["cuda"].items()
        },
        sources=dict(data["sources"]),
        collected=str(data["collected"]),
        cpu_tags_uncertain=str(data["cpu_image_tags"]["uncertain"]),
    )


@functools.cache
def load_matrix(path: Path = MATRIX_FILE) -> Matrix:
    return parse_matrix(json.loads(path.read_text(encoding="utf-8")))


def validate(data: dict[str, Any]) -> list[str]:
    """Problems in the raw data: every rule the checks and generators rely on."""
    problems: list[str] = []
    for key in (
        "schema",
        "collected",
        "sources",
        "how_to_update",
        "cuda",
        "releases",
        "cpu_image_tags",
    ):
        if key not in data:
            problems.append(f"missing top-level key '{key}'")
    if problems:
        return problems
    if not data["sources"]:
        problems.append("'sources' is empty: every entry needs a citation")
    for cuda, raw in data["cuda"].items():
        if not re.fullmatch(r"\d+\.\d+", cuda):
            problems.append(f"cuda '{cuda}': write CUDA versions as MAJOR.MINOR")
        if not re.fullmatch(r"\d+\.\d+(\.\d+)?", str(raw.get("family_min_driver", ""))):
            problems.append(f"cuda {cuda}: family_min_driver must be a driver version")
    for minor, raw in data["releases"].items():
        where = f"release {minor}"
        if not re.fullmatch(r"\d+\.\d+", minor):
            problems.append(f"{where}: key must be MAJOR.MINOR")
            continue
        for field in (
            "patches",
            "python",
            "cuda",
            "cudnn_major",
            "conda_pytorch_cuda",
            "uncertain",
        ):
            if field not in raw:
                problems.append(f"{where}: missing '{field}'")
        if any(f"{where}: missing" in p for p in problems):
            continue
        for patch in raw["patches"]:
            if minor_of(patch) != minor or patch.count(".") != 2:
                problems.append(f"{where}: patch '{patch}' is not a {minor}.N version")
        low, high = raw["python"]
        if version_key(low) > version_key(high):
            problems.append(f"{where}: python range {low}..{high} is empty")
        for cuda in raw["cuda"]:
            if cuda not in data["cuda"]:
                problems.append(f"{where}: CUDA {cuda} has no entry under 'cuda' (driver data)")
        default = raw.get("pypi_default_cuda")
        if default is not None and default not in raw["cuda"]:
            problems.append(f"{where}: PyPI default CUDA {default} is not among its builds")
        for cuda in raw["conda_pytorch_cuda"]:
            if cuda not in raw["cuda"]:
                problems.append(f"{where}: conda pytorch-cuda={cuda} is not among its CUDA builds")
        if raw["conda_pytorch_cuda"] and version_key(minor) > (2, 5):
            problems.append(f"{where}: conda pytorch-cuda builds stopped after 2.5")
        if raw["cudnn_major"] not in (8, 9):
            problems.append(
                f"{where}: cudnn_major {raw['cudnn_major']} is not a shipped image cuDNN"
            )
    return problems


def main(argv: list[str]) -> int:
    if argv != ["--check"]:
        print("usage: python -m torchlane.env.matrix --check", file=sys.stderr)
        return 2
    problems = validate(json.loads(MATRIX_FILE.read_text(encoding="utf-8")))
    for problem in problems:
        print(f"{MATRIX_FILE.name}: {problem}", file=sys.stderr)
    if not problems:
        matrix = load_matrix()
        print(
            f"{MATRIX_FILE.name}: ok, torch {matrix.oldest.minor}..{matrix.newest.minor}, collected {matrix.collected}"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
