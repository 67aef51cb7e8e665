"""`env generate`: files validated by hadolint and the published JSON schemas; hand edits kept."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.env.conftest import Repo
from torchlane.env.generate import is_own_output

BIN = Path(sys.executable).parent
SCHEMAS = Path(__file__).parent / "data"
CPU = '[tool.torchlane.env]\npython = "3.12"\ntorch = "2.13.0"\n'
CUDA = '[tool.torchlane.env]\npython = "3.12"\ntorch = "2.13.0"\naccelerator = "cuda13.0"\nmemory = "16g"\n'


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is part of the dev environment but is missing")
    return found


def validate(root: Path) -> None:
    hadolint = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(root / "Dockerfile")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert hadolint.returncode == 0, hadolint.stdout + hadolint.stderr
    for schema, target in (
        (["--builtin-schema", "vendor.compose-spec"], "compose.yaml"),
        (
            ["--schemafile", str(SCHEMAS / "devContainer.base.schema.json")],
            ".devcontainer/devcontainer.json",
        ),
    ):
        proc = subprocess.run(
            [tool("check-jsonschema"), *schema, str(root / target)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("declaration", [CPU, CUDA], ids=["cpu", "cuda"])
def test_generated_files_pass_their_validators_and_env_check(
    repo: Repo, cli, declaration: str
) -> None:
    repo.write("pyproject.toml", declaration)
    repo.write("requirements.lock", "six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\n")
    result = cli(["env", "generate", "-C", str(repo.root)])
    assert result.code == 0, result.err
    assert "+FROM " in result.out  # the diff of a new file
    validate(repo.root)
    dockerfile = (repo.root / "Dockerfile").read_text()
    compose = (repo.root / "compose.yaml").read_text()
    assert "--require-hashes -r /tmp/requirements.lock" in dockerfile
    assert "USER dev" in dockerfile
    assert "EXPOSE 8888 6006" in dockerfile
    assert '"127.0.0.1:8888:8888"' in compose
    assert "${JUPYTER_TOKEN:?set JUPYTER_TOKEN}" in compose
    if declaration == CUDA:
        assert "FROM pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime" in dockerfile
        assert "capabilities: [gpu]" in compose
        assert 'memory: "16g"' in compose
    else:
        assert "FROM python:3.12-slim" in dockerfile
        assert "driver: nvidia" not in compose
    devcontainer = json.loads((repo.root / ".devcontainer/devcontainer.json").read_text())
    assert devcontainer["service"] == "dev"
    assert devcontainer["dockerComposeFile"] == ["../compose.yaml"]
    repo.commit()
    code, report = repo.check()
    assert code == 0, report["findings"]


def test_hand_edits_are_refused_without_force_and_own_output_is_updated(repo: Repo, cli) -> None:
    repo.write("pyproject.toml", CPU)
    assert cli(["env", "generate", "-C", str(repo.root)]).code == 0
    dockerfile = repo.root / "Dockerfile"
    assert is_own_output(dockerfile.read_text())
    # A declaration change rewrites the tool's own, unedited output without --force.
    repo.write("pyproject.toml", CPU.replace("3.12", "3.11"))
    result = cli(["env", "generate", "-C", str(repo.root)])
    assert result.code == 0, result.err
    assert "python:3.11-slim" in dockerfile.read_text()
    # A hand edit is refused (nothing written) until --force.
    edited = dockerfile.read_text().replace('CMD ["bash"]', 'CMD ["python"]')
    dockerfile.write_text(edited)
    repo.write("pyproject.toml", CPU)
    before = {p: (repo.root / p).read_text() for p in ("Dockerfile", "compose.yaml")}
    result = cli(["env", "generate", "-C", str(repo.root)])
    assert result.code == 1
    assert "Dockerfile changed since torchlane generated it" in result.err
    assert "--force" in result.err
    assert {p: (repo.root / p).read_text() for p in before} == before
    assert '-CMD ["python"]' in result.out  # the diff shows what --force would undo
    assert cli(["env", "generate", "--force", "-C", str(repo.root)]).code == 0
    assert 'CMD ["bash"]' in dockerfile.read_text()
    assert "python:3.12-slim" in dockerfile.read_text()


def test_dry_run_writes_nothing_and_reports_json(repo: Repo, cli) -> None:
    repo.write("pyproject.toml", CUDA)
    result = cli(["env", "generate", "--dry-run", "--json", "-C", str(repo.root)])
    assert result.code == 0
    data = json.loads(result.out)
    assert data["dry_run"] is True
    assert data["written"] == []
    assert {f["status"] for f in data["files"]} == {"create"}
    assert not (repo.root / "Dockerfile").exists()


@pytest.mark.parametrize(
    ("declaration", "message", "hint"),
    [
        (
            'torch = "2.9.0"\naccelerator = "cuda11.8"\npython = "3.11"\n',
            "not built for CUDA 11.8",
            'accelerator = "cuda12.6"',
        ),
        ('torch = "2.9.0"\npython = "3.9"\n', "supports Python 3.10..3.14", 'python = "3.14"'),
        ('accelerator = "cuda12.8"\n', "needs an exact torch release", "torch ="),
        (
            'base_image = "pytorch/pytorch:2.9.0-cuda11.8-cudnn8-runtime"\n',
            "cannot exist",
            "pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime",
        ),
    ],
)
def test_impossible_declarations_are_refused_with_the_closest_choice(
    repo: Repo, cli, declaration: str, message: str, hint: str
) -> None:
    repo.write("pyproject.toml", "[tool.torchlane.env]\n" + declaration)
    result = cli(["env", "generate", "-C", str(repo.root)])
    assert result.code == 1
    assert message in result.err
    assert hint in result.err
    assert not (repo.root / "Dockerfile").exists()


def test_the_schemas_do_reject_broken_files(tmp_path: Path) -> None:
    """The validators used above are not vacuous."""
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  dev:\n    ports: 8888\n    shm_size: [1]\n", encoding="utf-8")
    devcontainer = tmp_path / "devcontainer.json"
    devcontainer.write_text(
        '{"dockerComposeFile": "c.yaml", "forwardPorts": ["x y"]}', encoding="utf-8"
    )
    for schema, target in (
        (["--builtin-schema", "vendor.compose-spec"], compose),
        (["--schemafile", str(SCHEMAS / "devContainer.base.schema.json")], devcontainer),
    ):
        proc = subprocess.run(
            [tool("check-jsonschema"), *schema, str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 1, proc.stdout
