"""`torchlane env check` on real repositories, run as a hook runs it (a subprocess)."""

from __future__ import annotations

import pytest

from tests.env.conftest import Repo

DIGEST = "sha256:" + "ab" * 32


def test_the_impossible_cuda_11_8_image_is_an_error_with_valid_suggestions(repo: Repo) -> None:
    repo.commit(Dockerfile="FROM pytorch/pytorch:2.9.0-cuda11.8-cudnn8-runtime\nRUN echo hi\n")
    code, result = repo.check()
    assert code == 1
    (finding,) = [f for f in result["findings"] if f["rule"] == "image-tag-impossible"]
    assert finding["severity"] == "error"
    assert (finding["file"], finding["line"]) == ("Dockerfile", 1)
    assert "11.8" in finding["message"]
    assert "cuDNN 9" in finding["message"]
    assert "pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime" in finding["fix"]
    assert "cuda11.8" not in finding["fix"]


@pytest.mark.parametrize(
    "tag",
    [
        "2.3.0-cuda12.4-cudnn8-runtime",  # 12.4 arrived with 2.4
        "2.5.1-cuda12.1-cudnn8-devel",  # 2.4+ images carry cuDNN 9
        "2.8.0-cuda11.8-cudnn9-runtime",  # 11.8 last shipped with 2.7
        "2.12.0-cuda12.8-cudnn9-runtime",  # 2.12 dropped 12.8 for 13.2
        "2.9.0-cuda12.8-cudnn9-slim",  # no such flavour: not even the tag scheme
    ],
)
def test_other_impossible_tags(repo: Repo, tag: str) -> None:
    repo.commit(Dockerfile=f"FROM pytorch/pytorch:{tag}\n")
    rules = repo.rules()
    assert "image-tag-impossible" in rules or "image-tag-unknown-scheme" in rules


@pytest.mark.parametrize(
    "image",
    [
        "pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime",
        "pytorch/pytorch:2.7.1-cuda11.8-cudnn9-devel",
        "pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime",
        "docker.io/pytorch/pytorch:2.13.0-cuda13.2-cudnn9-runtime",
        f"pytorch/pytorch:2.12.1-cuda13.0-cudnn9-runtime@{DIGEST}",
        f"pytorch/pytorch@{DIGEST}",
        "python:3.12-slim",
        "nvidia/cuda:12.8.0-cudnn-runtime-ubuntu24.04",
    ],
)
def test_valid_and_digest_pinned_images_pass(repo: Repo, image: str) -> None:
    repo.commit(Dockerfile=f"FROM --platform=linux/amd64 {image} AS base\n")
    code, result = repo.check()
    assert code == 0, result["findings"]
    assert [f for f in result["findings"] if f["severity"] != "info"] == []


def test_a_digest_does_not_excuse_an_impossible_tag(repo: Repo) -> None:
    repo.commit(Dockerfile=f"FROM pytorch/pytorch:2.9.0-cuda11.8-cudnn8-runtime@{DIGEST}\n")
    assert "image-tag-impossible" in repo.rules()


@pytest.mark.parametrize(
    "image", ["python", "python:latest", "nvidia/cuda:latest", "pytorch/pytorch"]
)
def test_latest_and_missing_tags_are_errors(repo: Repo, image: str) -> None:
    repo.commit(Dockerfile=f"FROM {image}\n")
    code, result = repo.check()
    assert code == 1
    assert [f["rule"] for f in result["findings"]] == ["image-unpinned"]


def test_args_multi_stage_and_continuations(repo: Repo) -> None:
    repo.commit(
        **{
            "docker__train.Dockerfile": (
                "ARG TORCH=2.9.0\nARG CUDA=11.8\n"
                "FROM --platform=$BUILDPLATFORM \\\n    pytorch/pytorch:${TORCH}-cuda${CUDA}-cudnn9-devel AS build\n"
                "RUN make\n# a comment\nFROM build AS test\nFROM ${MISSING}\n"
            )
        }
    )
    rules = repo.rules()
    assert [(f["file"], f["line"]) for f in rules["image-tag-impossible"]] == [
        ("docker/train.Dockerfile", 3)
    ]
    assert [f["line"] for f in rules["image-unparsed"]] == [8]
    assert set(rules) == {"image-tag-impossible", "image-unparsed"}


def test_unpinned_requirements_are_warnings_and_unpinned_lock_entries_errors(repo: Repo) -> None:
    repo.commit(
        **{
            "requirements-dev.txt": "pytest>=8\nruff==0.6.0\n",
            "deploy.lock": "numpy\nsix==1.17.0\n",
        }
    )
    rules = repo.rules()
    unpinned = {(f["file"], f["line"], f["severity"]) for f in rules["requirement-unpinned"]}
    assert unpinned == {("requirements-dev.txt", 1, "warning"), ("deploy.lock", 1, "error")}


def test_a_lock_records_its_inputs_and_turns_stale_when_they_change(repo: Repo) -> None:
    from torchlane.env.lock.lockfile import header_line

    repo.write("requirements.txt", "six\n")
    lock = (
        header_line(repo.root, ("requirements.txt",))
        + "\nsix==1.17.0 \\\n    --hash=sha256:"
        + "a" * 64
        + "\n"
    )
    repo.commit(**{"requirements.lock": lock})
    assert repo.check() == (0, repo.check()[1])
    assert "lock-stale" not in repo.rules()
    repo.commit(**{"requirements.txt": "six\npackaging\n"})
    (stale,) = repo.rules()["lock-stale"]
    assert stale["severity"] == "error"
    assert "requirements.txt" in stale["message"]


def test_a_lock_without_header_falls_back_to_commit_times(repo: Repo) -> None:
    repo.write(
        "pyproject.toml",
        '[tool.torchlane.env]\nrequirements = ["requirements.in"]\nlock = "requirements.lock"\n',
    )
    repo.commit(
        date="2026-01-01T10:00:00",
        **{"requirements.in": "six\n", "requirements.lock": "six==1.17.0\n"},
    )
    assert "lock-older-than-inputs" not in repo.rules()
    repo.commit(date="2026-01-02T10:00:00", **{"requirements.in": "six\npackaging\n"})
    (finding,) = repo.rules()["lock-older-than-inputs"]
    assert "requirements.in" in finding["message"]


def test_torch_pins_must_agree_with_the_image_and_the_declaration(repo: Repo) -> None:
    repo.commit(
        Dockerfile="FROM pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime\n",
        **{
            "requirements.txt": "torch==2.8.0\n",
            "pyproject.toml": '[tool.torchlane.env]\ntorch = "2.9.0"\npython = "3.12"\naccelerator = "cuda12.8"\n',
        },
    )
    rules = repo.rules()
    places = sorted((f["file"], f["line"]) for f in rules["torch-disagrees"])
    assert places == [
        ("requirements.txt", 1),
        ("requirements.txt", 1),
    ]  # vs the image, vs the declaration


def test_a_cuda_build_the_release_lacks_is_an_error(repo: Repo) -> None:
    repo.commit(
        **{
            "requirements.txt": "--extra-index-url https://download.pytorch.org/whl/cu118\ntorch==2.9.0+cu118\n"
        }
    )
    lines = sorted(f["line"] for f in repo.rules()["torch-build-missing"])
    assert lines == [1, 2]


@pytest.mark.parametrize(
    ("deps", "rule", "severity"),
    [
        (["pytorch=2.9.0", "pytorch-cuda=12.8"], "conda-pytorch-cuda", "error"),
        (["pytorch=2.5.1", "pytorch-cuda=12.6"], "conda-pytorch-cuda", "error"),
        (["pytorch=2.5.1", "python=3.13"], "python-out-of-range", "error"),
        (["pytorch", "pytorch-cuda=12.1"], "conda-pytorch-cuda", "warning"),
        # pytorch-cuda exists only from 1.13 (older releases used cudatoolkit).
        (["pytorch=1.12.1", "pytorch-cuda=11.6"], "conda-pytorch-cuda", "error"),
        (["pytorch=1.11.0", "pytorch-cuda=11.3"], "conda-pytorch-cuda", "error"),
    ],
)
def test_conda_files_asking_for_what_does_not_exist(
    repo: Repo, deps: list[str], rule: str, severity: str
) -> None:
    body = "name: demo\nchannels: [pytorch, nvidia]\ndependencies:\n" + "".join(
        f"  - {d}\n" for d in deps
    )
    repo.commit(**{"environment.yml": body})
    (finding,) = repo.rules()[rule]
    assert finding["severity"] == severity
    assert (
        finding["line"] == 4 + len(deps) - 1
        if rule == "conda-pytorch-cuda"
        else finding["line"] == 5
    )


@pytest.mark.parametrize(
    ("image", "warned"),
    [
        ("nvidia/cuda:12.1.0-cudnn8-runtime-ubuntu22.04", True),
        ("nvcr.io/nvidia/cuda:12.4.1-devel-ubuntu22.04", True),
        ("nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04", False),
        ("nvidia/cuda:11.8-base", False),
    ],
)
def test_an_nvidia_cuda_image_and_another_cuda_pin_disagree(
    repo: Repo, image: str, warned: bool
) -> None:
    repo.commit(
        Dockerfile=f"FROM {image}\n",
        **{
            "requirements.txt": "--extra-index-url https://download.pytorch.org/whl/cu118\n"
            "torch==2.0.1+cu118\n"
        },
    )
    rules = repo.rules()
    assert ("cuda-disagrees" in rules) is warned
    if warned:
        (finding,) = rules["cuda-disagrees"]
        assert finding["severity"] == "warning"
        assert "torch+cu118" in finding["message"]
        assert finding["line"] == 2


def test_a_valid_conda_file_passes(repo: Repo) -> None:
    body = "dependencies:\n  - python=3.11\n  - pytorch=2.5.1\n  - pytorch-cuda=12.4\n  - pip:\n    - six==1.17.0\n"
    repo.commit(**{"environment.yml": body})
    assert repo.check() == (0, repo.check()[1])
    assert repo.check()[1]["findings"] == []


def test_python_outside_the_release_range(repo: Repo) -> None:
    repo.commit(
        Dockerfile="FROM python:3.9-slim\n",
        **{"pyproject.toml": '[tool.torchlane.env]\ntorch = "2.9.0"\npython = "3.9"\n'},
    )
    rules = repo.rules()
    assert sorted(f["file"] for f in rules["python-out-of-range"]) == [
        "Dockerfile",
        "pyproject.toml",
    ]
    decl = next(f for f in rules["python-out-of-range"] if f["file"] == "pyproject.toml")
    assert decl["line"] == 3


def test_a_torch_newer_than_the_data_is_a_warning_not_an_error(repo: Repo) -> None:
    repo.commit(**{"pyproject.toml": '[tool.torchlane.env]\ntorch = "2.16.0"\npython = "3.12"\n'})
    code, result = repo.check()
    assert code == 0
    (finding,) = result["findings"]
    assert finding["severity"] == "warning"
    assert finding["message"].startswith(
        "torch 2.16.0 is newer than torchlane's compatibility data (up to 2.14); update torchlane"
    )


def test_compose_images_are_checked_and_build_services_skipped(repo: Repo) -> None:
    compose = (
        "services:\n  app:\n    build: .\n    image: myapp:latest\n"
        "  db:\n    image: postgres:latest\n"
        "  train:\n    image: ${IMAGE:-pytorch/pytorch:2.9.0-cuda11.8-cudnn8-runtime}\n"
    )
    repo.commit(**{"compose.yaml": compose})
    rules = repo.rules()
    assert [(f["file"], f["line"]) for f in rules["image-unpinned"]] == [("compose.yaml", 6)]
    assert [f["line"] for f in rules["image-tag-impossible"]] == [8]


def test_an_invalid_declaration_gets_the_schema_error(repo: Repo) -> None:
    import subprocess
    import sys

    repo.commit(**{"pyproject.toml": '[tool.torchlane.env]\npyhton = "3.11"\n'})
    from tests.env.conftest import subprocess_env

    proc = subprocess.run(
        [sys.executable, "-m", "torchlane", "env", "check"],
        cwd=repo.root, capture_output=True, text=True, check=False, env=subprocess_env(),
    )  # fmt: skip
    assert proc.returncode == 1
    assert "pyhton" in proc.stderr
    assert "hint:" in proc.stderr


def test_outside_git_the_directory_is_walked(tmp_path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM python\n", encoding="utf-8")
    (root / ".venv").mkdir()
    (root / ".venv" / "Dockerfile").write_text("FROM ubuntu\n", encoding="utf-8")
    code, result = Repo(root).check()
    assert code == 1
    assert result["files"] == ["Dockerfile"]


@pytest.mark.parametrize(
    ("torch", "rule", "severity"),
    [
        ("1.12.1", "torch-older-than-data", "warning"),
        ("2.9.7", "torch-patch-not-in-data", "warning"),
        ("latest", "torch-unknown", "error"),
    ],
)
def test_declared_torch_outside_the_data(repo: Repo, torch: str, rule: str, severity: str) -> None:
    repo.commit(**{"pyproject.toml": f'[tool.torchlane.env]\ntorch = "{torch}"\npython = "3.10"\n'})
    (finding,) = repo.rules()[rule]
    assert finding["severity"] == severity
    assert finding["line"] == 2


def test_which_files_count_as_dockerfiles() -> None:
    from torchlane.env.files import kind_of

    docker = [
        "Dockerfile",
        "Containerfile",
        "docker/Dockerfile.gpu",
        "train.Dockerfile",
        "Dockerfile.dev",
    ]
    other = [
        "src/app/dockerfile.py",
        "Dockerfile.md",
        "docs/Dockerfile.j2",
        "Dockerfile.dockerignore",
    ]
    assert [kind_of(p) for p in docker] == ["dockerfile"] * len(docker)
    assert [kind_of(p) for p in other] == [None] * len(other)
