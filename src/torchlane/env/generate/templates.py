"""The text of the files `env generate` writes. torchlane.generated adds the header with the hash
that tells a later run its own output from a hand edit."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def dockerfile(plan: Plan) -> str:
    hashes = " --require-hashes" if plan.require_hashes else ""
    return f"""\
# From [tool.torchlane.env]: change the declaration and run `torchlane env generate`.
FROM {plan.base_image}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Work as an unprivileged user; root is needed only to build the image.
RUN useradd --create-home --no-log-init --shell /bin/bash {USER} \\
    && mkdir -p {WORKDIR} \\
    && chown {USER}:{USER} {WORKDIR}
WORKDIR {WORKDIR}

# The lock pins every package (with hashes): the image is the environment the team tested.
COPY {plan.lock} /tmp/requirements.lock
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


def compose(plan: Plan) -> str:
    gpu = ""
    if plan.cuda:
        gpu = """\
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
"""
    return f"""\
# From [tool.torchlane.env]: change the declaration and run `torchlane env generate`.
# Ports are bound to 127.0.0.1; the Jupyter token comes from your environment, never from a file:
#   JUPYTER_TOKEN=$(python -c 'import secrets; print(secrets.token_hex(16))') docker compose up -d
services:
  {SERVICE}:
    build:
      context: .
      dockerfile: Dockerfile
    command: ["sleep", "infinity"]
    shm_size: "{plan.shm_size}"
    ports:
      - "127.0.0.1:{plan.jupyter_port}:{plan.jupyter_port}"
      - "127.0.0.1:{plan.tensorboard_port}:{plan.tensorboard_port}"
    environment:
      JUPYTER_TOKEN: "${{JUPYTER_TOKEN:?set JUPYTER_TOKEN}}"
    volumes:
      - .:{WORKDIR}
    deploy:
      resources:
        limits:
          memory: "{plan.memory}"
{gpu}"""


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
    project = re.sub(r"[^a-z0-9_-]", "-", plan.project.lower()).lstrip("-_") or "project"
    workdir = seat.workdir or f"/home/{seat.user}/{plan.project}"
    gpu = ""
    if seat.gpus:
        ids = ", ".join(f'"{i}"' for i in seat.gpus)
        gpu = f"""\
        reservations:
          devices:
            - driver: nvidia
              device_ids: [{ids}]
              capabilities: [gpu]
"""
    run_as = ""
    if seat.run_as:
        run_as = f'    user: "{seat.run_as}"\n'
    quota = "own quota" if seat.quota == seat.member else f"group {seat.quota}'s quota, shared"
    return f"""\
# {seat.member} on the shared GPU server ({quota}), from [tool.torchlane.team].
# Start it from the repository root with the token in your environment, never in a file:
#   {seat.token_variable}=$(python -c 'import secrets; print(secrets.token_hex(16))') \\
#     docker compose -f {SHARED_DIR}/compose.{seat.member}.yaml up -d
name: "{project}-{seat.member.replace("_", "-")}"
services:
  {seat.member}:
    build:
      context: ..
      dockerfile: Dockerfile
    command: ["sleep", "infinity"]
{run_as}    labels:
      org.torchlane.member: "{seat.member}"
      org.torchlane.quota: "{seat.quota}"
    shm_size: "{seat.shm_size}"
    ports:
      - "127.0.0.1:{seat.jupyter_port}:{plan.jupyter_port}"
      - "127.0.0.1:{seat.tensorboard_port}:{plan.tensorboard_port}"
    environment:
      JUPYTER_TOKEN: "${{{seat.token_variable}:?set {seat.token_variable}}}"
      HOME: "{WORKDIR}"
    volumes:
      - "{workdir}:{WORKDIR}"
    deploy:
      resources:
        limits:
          memory: "{seat.memory}"
          cpus: "{seat.cpus:g}"
{gpu}"""


# path -> (template, line-comment syntax). devcontainer.json is JSONC: VS Code and the
# devcontainer CLI read comments, so it carries the same header as the other files.
TEMPLATES: dict[str, tuple[Callable[[Plan], str], str]] = {
    "Dockerfile": (dockerfile, "#"),
    ".dockerignore": (dockerignore, "#"),
    "compose.yaml": (compose, "#"),
    ".devcontainer/devcontainer.json": (devcontainer, "//"),
}
