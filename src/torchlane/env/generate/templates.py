"""The text of the files `env generate` writes. torchlane.generated adds the header with the hash
that tells a later run its own output from a hand edit."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torchlane.team.quotas import Seat

USER = "dev"
WORKDIR = "/workspace"
SERVICE = "dev"


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Everything the templates need, derived from the declaration and the matrix."""

    base_image: str
    cuda: bool
    python: str
    lock: str
    require_hashes: bool
    jupyter_port: int
    tensorboard_port: int
    shm_size: str
    memory: str
    project: str


def _word(text: str) -> str:
    """A value that stands as one word of a Dockerfile instruction (the base image): validated at
    load (config.values), refused here too, so no configuration can start another instruction."""
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"{text!r} cannot stand as one word of a Dockerfile instruction")
    return text


def _compose_text(text: str) -> str:
    """A literal string for compose, which interpolates `$VAR` in every value: `$` is `$$`."""
    return text.replace("$", "$$")


def dockerfile(plan: Plan) -> str:
    hashes = " --require-hashes" if plan.require_hashes else ""
    # COPY in its JSON form: the lock's path is one JSON string, whatever it holds.
    copy_lock = json.dumps([plan.lock, "/tmp/requirements.lock"])
    return f"""\
# From [tool.torchlane.env]: change the declaration and run `torchlane env generate`.
FROM {_word(plan.base_image)}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Work as an unprivileged user; root is needed only to build the image.
RUN useradd --create-home --no-log-init --shell /bin/bash {USER} \\
    && mkdir -p {WORKDIR} \\
    && chown {USER}:{USER} {WORKDIR}
WORKDIR {WORKDIR}

# The lock pins every package (with hashes): the image is the environment the team tested.
COPY {copy_lock}
RUN pip install --no-cache-dir{hashes} -r /tmp/requirements.lock

COPY --chown={USER}:{USER} . {WORKDIR}
USER {USER}

# Jupyter and TensorBoard.
EXPOSE {plan.jupyter_port} {plan.tensorboard_port}
CMD ["bash"]
"""


def dockerignore(plan: Plan) -> str:
    return """\
# Keep version control, local environments, caches and secrets out of the build context.
.git
.venv
venv
**/__pycache__
**/*.pyc
**/.ipynb_checkpoints
.mypy_cache
.pytest_cache
.ruff_cache
.env
.env.*
*.pem
*.key
runs
wandb
mlruns
"""


_COMPOSE_HEADER = """\
# From [tool.torchlane.env]: change the declaration and run `torchlane env generate`.
# Ports are bound to 127.0.0.1; the Jupyter token comes from your environment, never from a file:
#   JUPYTER_TOKEN=$(python -c 'import secrets; print(secrets.token_hex(16))') docker compose up -d
"""


def _gpu_reservation(device_ids: tuple[int, ...] | None) -> dict[str, Any]:
    device: dict[str, Any] = {"driver": "nvidia"}
    if device_ids is None:
        device["count"] = "all"
    else:
        device["device_ids"] = [str(i) for i in device_ids]
    device["capabilities"] = ["gpu"]
    return {"devices": [device]}


def compose(plan: Plan) -> str:
    """compose.yaml, built as data and written by the YAML serializer: no value can add a key."""
    from torchlane.yamlout import dump

    resources: dict[str, Any] = {"limits": {"memory": _compose_text(plan.memory)}}
    if plan.cuda:
        resources["reservations"] = _gpu_reservation(None)
    service = {
        "build": {"context": ".", "dockerfile": "Dockerfile"},
        "command": ["sleep", "infinity"],
        "shm_size": _compose_text(plan.shm_size),
        "ports": [
            f"127.0.0.1:{plan.jupyter_port}:{plan.jupyter_port}",
            f"127.0.0.1:{plan.tensorboard_port}:{plan.tensorboard_port}",
        ],
        "environment": {"JUPYTER_TOKEN": "${JUPYTER_TOKEN:?set JUPYTER_TOKEN}"},
        "volumes": [f".:{WORKDIR}"],
        "deploy": {"resources": resources},
    }
    return _COMPOSE_HEADER + dump({"services": {SERVICE: service}})


def devcontainer(plan: Plan) -> str:
    data = {
        "name": f"{plan.project} (torchlane)",
        "dockerComposeFile": ["../compose.yaml"],
        "service": SERVICE,
        "workspaceFolder": WORKDIR,
        "remoteUser": USER,
        "forwardPorts": [plan.jupyter_port, plan.tensorboard_port],
        "customizations": {
            "vscode": {"extensions": ["ms-python.python", "ms-toolsai.jupyter"]},
        },
    }
    return json.dumps(data, indent=2) + "\n"


SHARED_DIR = "shared"


def shared_compose(plan: Plan, seat: Seat) -> str:
    """One member's container on the shared server (shared/compose.<member>.yaml).

    A file per member, not one service per member in one file: compose interpolates the whole
    file before choosing services, so `${JUPYTER_TOKEN_BOB:?}` would stop Alice from starting
    hers; and each member gets their own compose project to start, stop and rebuild alone."""
    from torchlane.yamlout import dump

    project = re.sub(r"[^a-z0-9_-]", "-", plan.project.lower()).lstrip("-_") or "project"
    workdir = seat.workdir or f"/home/{seat.user}/{plan.project}"
    resources: dict[str, Any] = {
        "limits": {"memory": _compose_text(seat.memory), "cpus": f"{seat.cpus:g}"}
    }
    if seat.gpus:
        resources["reservations"] = _gpu_reservation(seat.gpus)
    service: dict[str, Any] = {
        "build": {"context": "..", "dockerfile": "Dockerfile"},
        "command": ["sleep", "infinity"],
    }
    if seat.run_as:
        service["user"] = seat.run_as
    service |= {
        "labels": {
            "org.torchlane.member": _compose_text(seat.member),
            "org.torchlane.quota": _compose_text(seat.quota),
        },
        "shm_size": _compose_text(seat.shm_size),
        "ports": [
            f"127.0.0.1:{seat.jupyter_port}:{plan.jupyter_port}",
            f"127.0.0.1:{seat.tensorboard_port}:{plan.tensorboard_port}",
        ],
        "environment": {
            "JUPYTER_TOKEN": f"${{{seat.token_variable}:?set {seat.token_variable}}}",
            "HOME": WORKDIR,
        },
        # The long form: a ':' in the host path cannot add a mode or a second mount.
        "volumes": [{"type": "bind", "source": _compose_text(workdir), "target": WORKDIR}],
        "deploy": {"resources": resources},
    }
    quota = "own quota" if seat.quota == seat.member else f"group {seat.quota}'s quota, shared"
    header = f"""\
# {seat.member} on the shared GPU server ({quota}), from [tool.torchlane.team].
# Start it from the repository root with the token in your environment, never in a file:
#   {seat.token_variable}=$(python -c 'import secrets; print(secrets.token_hex(16))') \\
#     docker compose -f {SHARED_DIR}/compose.{seat.member}.yaml up -d
"""
    name = f"{project}-{seat.member.replace('_', '-')}"
    return header + dump({"name": name, "services": {seat.member: service}})


# path -> (template, line-comment syntax). devcontainer.json is JSONC: VS Code and the
# devcontainer CLI read comments, so it carries the same header as the other files.
TEMPLATES: dict[str, tuple[Callable[[Plan], str], str]] = {
    "Dockerfile": (dockerfile, "#"),
    ".dockerignore": (dockerignore, "#"),
    "compose.yaml": (compose, "#"),
    ".devcontainer/devcontainer.json": (devcontainer, "//"),
}
