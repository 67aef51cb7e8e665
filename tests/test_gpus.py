"""`torchlane gpus`: the real no-GPU path on this machine, and the logic through a fake NVML
(processes are real ones, read from /proc, or /proc-formatted files for containers)."""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from tests.env.conftest import subprocess_env
from tests.fake_nvml import FakeNvml
from torchlane.team.gpus import gpu_usage
from torchlane.team.procinfo import Container, container_of, container_of_cgroup, uid_of
from torchlane.team.quotas import resolve_team
from torchlane.team.settings import TeamConfig

ROOT = Path(__file__).resolve().parents[1]
ME = pwd.getpwuid(os.getuid()).pw_name
GIB = 1024**3
ID = "3f4c2a9b8e7d" + "0" * 52


def _has_nvml() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def _devices(pid: int) -> list[dict[str, object]]:
    return [
        {"name": "NVIDIA H100 80GB HBM3", "total": 80 * GIB, "used": 2 * GIB, "util": 0,
         "processes": []},
        {"name": "NVIDIA H100 80GB HBM3", "total": 80 * GIB, "used": 41 * GIB, "util": 97,
         "processes": [[pid, 40 * GIB], [999_999_999, None]], "name_as_bytes": True},
    ]  # fmt: skip


def _team(gpus: list[int], server_gpus: int | None = None) -> TeamConfig:
    member = {"user": ME, "gpus": gpus, "jupyter_port": 8890, "tensorboard_port": 6010}
    return TeamConfig.model_validate({"members": {"me": member}, "server_gpus": server_gpus})


def test_a_server_size_that_does_not_match_the_machine_is_pointed_out() -> None:
    usage = gpu_usage(FakeNvml(_devices(os.getpid())), resolve_team(_team([1], server_gpus=8)))
    assert usage.warnings == [
        "[tool.torchlane.team] declares server_gpus = 8, but NVML sees 2 GPU(s) here: "
        "is this the shared server?"
    ]
    assert usage.outside_quota == []


def test_this_machine_without_gpus_says_so_and_exits_0(tmp_path: Path) -> None:
    if _has_nvml():
        pytest.skip("this machine has NVML: the no-GPU path is not the real one here")
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane", "gpus"],
        cwd=tmp_path, capture_output=True, text=True, check=False, env=subprocess_env(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("No GPUs: no NVIDIA driver on this machine")
    as_json = subprocess.run(
        [sys.executable, "-m", "torchlane", "gpus", "--json"],
        cwd=tmp_path, capture_output=True, text=True, check=False, env=subprocess_env(),
    )  # fmt: skip
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["available"] is False


def test_busy_gpus_name_process_user_and_memory() -> None:
    nvml = FakeNvml(_devices(os.getpid()))
    usage = gpu_usage(nvml, resolve_team(_team([1])))
    assert nvml.calls == ["init", "shutdown"]
    assert usage.available
    idle, busy = usage.devices
    assert (idle.index, idle.memory_used_mib, idle.processes) == (0, 2048, [])
    assert busy.name == "NVIDIA H100 80GB HBM3"
    assert busy.utilization_percent == 97
    mine, gone = busy.processes
    assert (mine.pid, mine.memory_mib, mine.user, mine.member) == (os.getpid(), 40960, ME, "me")
    assert not mine.outside_quota
    assert usage.outside_quota == []
    # A pid that /proc does not show (exited, or another PID namespace): no user, no guess.
    assert (gone.user, gone.memory_mib, gone.member, gone.container) == (None, None, None, None)


def test_a_member_outside_their_quota_is_flagged() -> None:
    usage = gpu_usage(FakeNvml(_devices(os.getpid())), resolve_team(_team([0])))
    assert usage.warnings == []
    assert usage.devices[1].processes[0].outside_quota
    assert usage.outside_quota == [
        f"me (user {ME}) uses GPU 1 (pid {os.getpid()}), outside their quota 'me' (GPUs: 0)"
    ]


@pytest.mark.parametrize(
    ("fake", "reason"),
    [
        (FakeNvml([], init_error="Driver Not Loaded"), "NVML could not start (Driver Not Loaded)"),
        (FakeNvml([]), "NVML sees no GPU on this machine"),
        (None, "no NVIDIA driver on this machine"),
    ],
)
def test_no_usable_gpu_is_an_answer_not_an_error(fake: FakeNvml | None, reason: str) -> None:
    usage = gpu_usage(fake)
    assert not usage.available
    assert usage.reason is not None
    assert usage.reason.startswith(reason)
    if fake is not None and not fake.init_error:
        assert fake.calls == ["init", "shutdown"]


def test_nvml_is_shut_down_when_a_device_fails() -> None:
    nvml = FakeNvml([{"broken": True}])
    with pytest.raises(RuntimeError, match="fell off the bus"):
        gpu_usage(nvml)
    assert nvml.calls == ["init", "shutdown"]


def test_the_cli_renders_a_table_json_and_flags_with_exit_1(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "pynvml.py").write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.fake_nvml import FakeNvml\n"
        "_fake = FakeNvml.from_json(os.environ['FAKE_NVML'])\n"
        "def __getattr__(name):\n    return getattr(_fake, name)\n",
        encoding="utf-8",
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)
    (repo / "pyproject.toml").write_text(
        f'[tool.torchlane.team.members.me]\nuser = "{ME}"\ngpus = [0]\n'
        "jupyter_port = 8890\ntensorboard_port = 6010\n",
        encoding="utf-8",
    )
    env = dict(subprocess_env(), FAKE_NVML=json.dumps({"devices": _devices(os.getpid())}))
    env["COLUMNS"] = "200"
    env["PYTHONPATH"] = os.pathsep.join([str(shim), env.get("PYTHONPATH", "")])

    def gpus(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "torchlane", "gpus", *args],
            cwd=repo, capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip

    table = gpus()
    assert table.returncode == 1, table.stderr
    assert "NVIDIA H100 80GB HBM3" in table.stdout
    assert str(os.getpid()) in table.stdout
    assert "40960 MiB" in table.stdout
    assert "41.0/80 GiB" in table.stdout
    assert "me OUTSIDE QUOTA" in table.stdout
    assert "idle" in table.stdout
    assert "warning: me (user" in table.stderr
    data = json.loads(gpus("--json").stdout)
    assert data["devices"][1]["processes"][0]["outside_quota"] is True
    assert data["devices"][1]["memory_used_mib"] == 41 * 1024


@pytest.mark.parametrize(
    ("cgroup", "container"),
    [
        (f"12:memory:/docker/{ID}\n11:cpu:/docker/{ID}\n", Container("docker", ID[:12])),
        (f"0::/system.slice/docker-{ID}.scope\n", Container("docker", ID[:12])),
        (
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b_3c4d.slice/"
            f"cri-containerd-{ID}.scope\n",
            Container("kubernetes/containerd", ID[:12]),
        ),
        (f"4:pids:/kubepods/besteffort/pod1a2b-3c4d/{ID}\n", Container("kubernetes", ID[:12])),
        (f"0::/machine.slice/libpod-{ID}.scope/container\n", Container("podman", ID[:12])),
        (f"0::/system.slice/crio-{ID}.scope\n", Container("crio", ID[:12])),
        ("0::/user.slice/user-1000.slice/session-3.scope\n", None),
        ("0::/\n", None),
    ],
)
def test_containers_are_found_in_each_runtimes_cgroup_path(
    cgroup: str, container: Container | None
) -> None:
    assert container_of_cgroup(cgroup) == container


def test_process_facts_come_from_proc(tmp_path: Path) -> None:
    assert uid_of(os.getpid()) == os.getuid()
    assert uid_of(999_999_999) is None
    fake_proc = tmp_path / "proc"
    (fake_proc / "42").mkdir(parents=True)
    (fake_proc / "42" / "status").write_text("Name:\tpython\nUid:\t1234\t1234\t1234\t1234\n")
    (fake_proc / "42" / "cgroup").write_text(f"0::/system.slice/docker-{ID}.scope\n")
    assert uid_of(42, fake_proc) == 1234
    assert str(container_of(42, fake_proc)) == f"docker:{ID[:12]}"
