"""Torch pins and uv indexes in pyproject.toml reach `env check`'s build and cross-file rules."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.env.conftest import Repo
from torchlane.env.check.pyproject_deps import pyproject_requirements
from torchlane.env.check.static import run_check

UV = """\
[project]
name = "vision"
version = "0.1.0"
dependencies = [
    "numpy>=1.26",
    "torch==2.9.0",
]

[project.optional-dependencies]
cuda = ["torchvision==0.24.0"]

[tool.uv.sources]
torch = { index = "pytorch-cu118" }

[[tool.uv.index]]
name = "pytorch-cu118"
url = "https://download.pytorch.org/whl/cu118"
explicit = true
"""


def test_a_uv_index_for_a_build_the_release_lacks(repo: Repo) -> None:
    repo.commit(**{"pyproject.toml": UV})
    (finding,) = repo.rules()["torch-build-missing"]
    assert finding["file"] == "pyproject.toml"
    assert finding["line"] == 17  # the index's url
    assert "torch 2.9.0 has no cu118 build" in finding["message"]


def test_a_project_dependency_pin_must_agree_with_the_declaration(repo: Repo) -> None:
    text = UV.replace("cu118", "cu128") + '\n[tool.torchlane.env]\ntorch = "2.8.0"\n'
    repo.commit(**{"pyproject.toml": text})
    rules = repo.rules()
    assert "torch-build-missing" not in rules
    (finding,) = rules["torch-disagrees"]
    assert (finding["file"], finding["line"]) == ("pyproject.toml", 6)


def test_an_optional_dependency_local_build(repo: Repo) -> None:
    text = '[project]\nname = "x"\nversion = "1"\n[project.optional-dependencies]\n'
    text += 'gpu = [\n  "torch==2.9.0+cu118",\n]\n'
    repo.commit(**{"pyproject.toml": text})
    (finding,) = repo.rules()["torch-build-missing"]
    assert finding["line"] == 6


def test_a_good_pyproject_passes_and_is_watched(repo: Repo) -> None:
    repo.commit(**{"pyproject.toml": UV.replace("cu118", "cu128")})
    code, result = repo.check()
    assert result["findings"] == [], json.dumps(result["findings"])
    assert code == 0
    # The hook's cache is keyed by the files the check read: pyproject.toml is one of them.
    assert "pyproject.toml" in run_check(repo.root).watched


_NAMES = st.sampled_from(["torch", "numpy", "torchvision", "six", "my-pkg"])
_VERSIONS = st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9](\+(cpu|cu1[0-9]{2}))?", fullmatch=True)


@given(st.lists(st.tuples(_NAMES, _VERSIONS), min_size=1, max_size=6, unique_by=lambda d: d[0]))
def test_every_dependency_is_read_on_its_line(dependencies: list[tuple[str, str]]) -> None:
    body = "".join(f'    "{name}=={version}",\n' for name, version in dependencies)
    text = f'[project]\nname = "p"\nversion = "1"\ndependencies = [\n{body}]\n'
    parsed = pyproject_requirements(text)
    assert [(r.name, r.version, r.line) for r in parsed.requirements] == [
        (name, version, 5 + index) for index, (name, version) in enumerate(dependencies)
    ]


@given(st.text(max_size=200))
def test_any_text_reads_without_raising(text: str) -> None:
    pyproject_requirements(text)
