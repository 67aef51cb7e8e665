"""The training command of a rendered PyTorchJob, run as two local "pods" with the environment
the Kubeflow training operator gives them (pkg/controller.v1/pytorch/envvar.go, master.go):
torchrun must form one job of both, at the Master address the operator names."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.conftest import reachable_origin
from tests.conftest import Project, commit_file, commit_pyproject
from torchlane.ci.common import install_commands
from torchlane.config.load import load_config

TRAIN = """\
import json, os, sys
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
value = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(value)
with open(os.path.join(sys.argv[1], f"rank{dist.get_rank()}.json"), "w") as out:
    json.dump({"world": dist.get_world_size(), "sum": value.item(),
               "master": f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"}, out)
dist.destroy_process_group()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_master_and_worker_pods_form_one_job(cli, project: Project, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    reachable_origin(project)
    commit_pyproject(
        project,
        '[tool.torchlane.cluster.train]\nworkers = 1\nnproc_per_node = "1"\n',
    )
    commit_file(project.git, "train.py", TRAIN)
    project.git.run("push", "--quiet", "origin", "HEAD")
    result = cli(
        ["cluster", "render", "train", "--json", "--", "train.py", str(tmp_path)],
        cwd=project.root,
    )
    assert result.code == 0, result.err
    (job,) = json.loads(result.out)["documents"]
    replicas = job["spec"]["pytorchReplicaSpecs"]
    # The image would install the lock first; here the environment is the one running the tests.
    installs = set(install_commands(load_config(project.root).config))

    assert "torchlane/lead" not in replicas["Worker"]["template"]["metadata"]["labels"]
    port = _free_port()
    pods = []
    for rank, role in enumerate(("Master", "Worker")):
        container = replicas[role]["template"]["spec"]["containers"][0]
        sh, flag, script, *arguments = container["command"]
        script = "\n".join(line for line in script.splitlines() if line not in installs)
        operator_env = {
            "MASTER_ADDR": "127.0.0.2",  # another loopback address: torchrun's default is .1
            "MASTER_PORT": str(port),
            "WORLD_SIZE": "2",
            "RANK": str(rank),
            "PET_NPROC_PER_NODE": job["spec"]["nprocPerNode"],
            "PET_NODE_RANK": str(rank),
            "PET_NNODES": "2",
        }
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            **{e["name"]: e["value"] for e in container["env"] if "value" in e},
            **operator_env,
        }
        pods.append(
            subprocess.Popen(
                [sh, flag, script, *arguments],
                cwd=project.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [pod.communicate(timeout=300)[0] for pod in pods]
    assert [pod.returncode for pod in pods] == [0, 0], "\n".join(outputs)
    for rank in (0, 1):
        report = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert report == {"world": 2, "sum": 3.0, "master": f"127.0.0.2:{port}"}
