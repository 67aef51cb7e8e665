"""What a real cluster enforces on the rendered manifests: the "restricted" Pod Security Standard,
requests within limits, quotas that admit torchlane's own Jobs, GPUs the declared accelerator
needs, a repository the pods can reach."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.cluster.conftest import CLUSTER_CONFIG, kubernetes_validate, reachable_origin
from tests.conftest import Project, commit_pyproject
from torchlane.cluster.settings import local_url, quantity_value

# The volume types the restricted profile allows (Kubernetes' pod-security-admission, v1.25+).
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The rules of the "restricted" Pod Security Standard (with those of "baseline" a manifest
    can break), as pod-security-admission checks them, for one PodSpec."""
    found: list[str] = []
    security = pod.get("securityContext", {})
    containers = [*pod.get("initContainers", []), *pod.get("containers", [])]
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            found.append(f"pod: {flag}")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {volume['name']}: type {sorted(kinds)}")
    if security.get("runAsUser") == 0:
        found.append("pod: runAsUser 0")
    pod_non_root = security.get("runAsNonRoot") is True
    pod_seccomp = security.get("seccompProfile", {}).get("type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        found.append(f"pod: seccomp {pod_seccomp}")
    for container in containers:
        name = container["name"]
        context = container.get("securityContext", {})
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: capabilities not dropping ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds capabilities {capabilities['add']}")
        non_root = context.get("runAsNonRoot")
        if non_root is False or (non_root is None and not pod_non_root):
            found.append(f"{name}: runAsNonRoot is not true")
        if context.get("runAsUser") == 0:
            found.append(f"{name}: runAsUser 0")
        seccomp = context.get("seccompProfile", {}).get("type")
        if seccomp is None and pod_seccomp is None:
            found.append(f"{name}: no seccomp profile")
        elif seccomp not in (None, "RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccomp {seccomp}")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            found.append(f"{name}: hostPort")
    return found


def _pod_specs(document: dict[str, Any]) -> list[dict[str, Any]]:
    if document["kind"] == "Job":
        return [document["spec"]["template"]["spec"]]
    return [r["template"]["spec"] for r in document["spec"]["pytorchReplicaSpecs"].values()]


def _render(cli, project: Project, *args: str) -> list[dict[str, Any]]:
    result = cli(["cluster", "render", "--json", *args], cwd=project.root)
    assert result.code == 0, result.err
    documents: list[dict[str, Any]] = json.loads(result.out)["documents"]
    return documents


def _configured(project: Project, config: str) -> Project:
    reachable_origin(project)
    commit_pyproject(project, config)
    project.git.run("push", "--quiet", "origin", "HEAD")
    return project


def _main(cli, project: Project) -> dict[str, Any]:
    (job,) = _render(cli, project, "run", "--", "python", "x.py")
    container: dict[str, Any] = job["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.mark.parametrize(
    "args",
    [("eval",), ("run", "--", "python", "x.py"), ("train", "--", "train.py")],
)
def test_every_pod_meets_the_restricted_profile(
    cli, cluster_project: Project, args: tuple[str, ...]
) -> None:
    (document,) = _render(cli, cluster_project, *args)
    specs = _pod_specs(document)
    assert specs
    for spec in specs:
        assert restricted_violations(spec) == []
        assert spec["securityContext"]["runAsUser"] == 1000


def test_the_default_configuration_meets_it_too(cli, project: Project) -> None:
    _configured(project, "[tool.torchlane.cluster.train]\nworkers = 2\n")
    for args in (("eval",), ("train", "--", "train.py")):
        for spec in _pod_specs(_render(cli, project, *args)[0]):
            assert restricted_violations(spec) == []


def test_the_profile_check_can_fail(cli, cluster_project: Project) -> None:
    (job,) = _render(cli, cluster_project, "eval")
    spec = job["spec"]["template"]["spec"]
    spec["securityContext"].pop("runAsNonRoot")
    spec["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    spec["containers"][0]["securityContext"].pop("capabilities")
    spec["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    assert restricted_violations(spec) == [
        "volume host: type ['hostPath']",
        "checkout: allowPrivilegeEscalation is not false",
        "checkout: runAsNonRoot is not true",
        "main: capabilities not dropping ALL",
        "main: runAsNonRoot is not true",
    ]


def test_a_stated_request_above_the_default_limit_raises_it(
    cli, project: Project, tmp_path: Path
) -> None:
    _configured(project, '[tool.torchlane.cluster.requests]\ncpu = "4"\nmemory = "32Gi"\n')
    (job,) = _render(cli, project, "eval")
    resources = job["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "4", "memory": "32Gi"}, "limits": {"memory": "32Gi"}}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    assert kubernetes_validate(path).returncode == 0


def test_a_stated_limit_below_the_default_request_lowers_it(cli, project: Project) -> None:
    _configured(project, '[tool.torchlane.cluster.limits]\ncpu = "1"\nmemory = "4Gi"\n')
    resources = _main(cli, project)["resources"]
    assert resources == {
        "requests": {"cpu": "1", "memory": "4Gi"},
        "limits": {"cpu": "1", "memory": "4Gi"},
    }


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ('requests = { cpu = "8" }\nlimits = { cpu = "4" }\n',
         "requests.cpu 8 is above limits.cpu 4"),
        ('requests = { memory = "32Gi" }\nlimits = { memory = "16Gi" }\n',
         "requests.memory 32Gi is above limits.memory 16Gi"),
        ('requests = { memory = "2G" }\nlimits = { memory = "1900Mi" }\n',
         "requests.memory 2G is above limits.memory 1900Mi"),
    ],
)  # fmt: skip
def test_a_request_above_a_stated_limit_is_refused(
    cli, project: Project, tables: str, message: str
) -> None:
    _configured(project, "[tool.torchlane.cluster]\n" + tables)
    result = cli(["cluster", "render", "eval"], cwd=project.root)
    assert result.code != 0
    assert message in result.err
    assert "pyproject.toml: [tool.torchlane] cluster: requests." in result.err
    assert result.out == ""


TEAM = """
[tool.torchlane.team.members.alice]
jupyter_port = 8890
tensorboard_port = 6010
cpus = 16
memory = "64g"
"""


def test_the_quota_defaults_admit_torchlanes_own_jobs(cli, project: Project) -> None:
    """A Job requesting 8 CPUs and no CPU limit gets the LimitRange's default limit: it must not
    be the default 2, or the namespace rejects the Job."""
    _configured(project, '[tool.torchlane.cluster.requests]\ncpu = "8"\nmemory = "8Gi"\n' + TEAM)
    documents = _render(cli, project, "quotas")
    (limit_range,) = [d for d in documents if d["kind"] == "LimitRange"]
    (limits,) = limit_range["spec"]["limits"]
    assert limits["default"] == {"cpu": "8", "memory": "8Gi"}  # the Job states its memory limit
    assert limits["defaultRequest"] == {"cpu": "1", "memory": "4Gi"}
    job = _main(cli, project)
    assert "cpu" not in job["resources"]["limits"]  # the LimitRange's default applies to it
    assert quantity_value(job["resources"]["requests"]["cpu"]) <= quantity_value(
        limits["default"]["cpu"]
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[tool.torchlane.cluster.requests]\ncpu = "8"\n'
         '[tool.torchlane.cluster.quotas]\ndefault_limit = { cpu = "2", memory = "8Gi" }\n',
         "quotas.default_limit.cpu 2 is below requests.cpu 8"),
        ('[tool.torchlane.cluster.requests]\ncpu = "32"\nmemory = "8Gi"\n',
         "[tool.torchlane.team.members.alice] allows cpus 16, less than one torchlane job asks"),
    ],
)  # fmt: skip
def test_quotas_that_would_reject_torchlanes_jobs_are_refused(
    cli, project: Project, config: str, message: str
) -> None:
    _configured(project, config + TEAM)
    result = cli(["cluster", "render", "quotas"], cwd=project.root)
    assert result.code == 1
    assert message in result.err
    assert "hint:" in result.err


@pytest.mark.parametrize(
    ("env", "cluster", "expected"),
    [
        ('accelerator = "cuda12.8"', "", {"nvidia.com/gpu": "1"}),
        ('accelerator = "rocm6.2"', "", {"amd.com/gpu": "1"}),
        ('accelerator = "cpu"', "", {}),
        ('accelerator = "cuda12.8"', "gpus = 0", {}),
        ('accelerator = "cuda12.8"', "gpus = 4", {"nvidia.com/gpu": "4"}),
        ('accelerator = "rocm6.2"', 'gpu_resource = "gpu.intel.com/i915"',
         {"gpu.intel.com/i915": "1"}),
    ],
)  # fmt: skip
def test_gpus_follow_the_declared_accelerator(
    cli, project: Project, env: str, cluster: str, expected: dict[str, str]
) -> None:
    _configured(
        project,
        f"[tool.torchlane.env]\ntorch = '2.13.0'\n{env}\n[tool.torchlane.cluster]\n{cluster}\n",
    )
    resources = _main(cli, project)["resources"]
    gpus = {k: v for k, v in resources["requests"].items() if k not in ("cpu", "memory")}
    assert gpus == expected
    assert {k: v for k, v in resources["limits"].items() if k in expected} == expected


def test_rocm_quotas_count_amd_gpus(cli, project: Project) -> None:
    _configured(
        project,
        '[tool.torchlane.env]\naccelerator = "rocm6.2"\n[tool.torchlane.team]\nserver_gpus = 4\n'
        + TEAM.replace("cpus = 16", "cpus = 16\ngpus = 2"),
    )
    documents = _render(cli, project, "quotas")
    (quota,) = [d for d in documents if d["kind"] == "ResourceQuota"]
    assert quota["spec"]["hard"]["requests.amd.com/gpu"] == "2"


def test_jobs_are_named_after_the_project(cli, cluster_project: Project) -> None:
    # The remote's folder is "vision-mirror"; the project is "vision".
    (job,) = _render(cli, cluster_project, "eval")
    assert job["metadata"]["name"].startswith("vision-eval-")
    assert job["metadata"]["labels"]["app.kubernetes.io/name"] == "vision"


def test_without_a_project_name_the_folder_names_the_job(cli, project: Project) -> None:
    _configured(project, "")
    (job,) = _render(cli, project, "eval")
    assert job["metadata"]["name"].startswith(f"{project.root.name}-eval-")
    assert not job["metadata"]["name"].startswith("origin")


@pytest.mark.parametrize("url", ["{origin}", "file://{origin}", "../origin.git"])
def test_a_remote_no_cluster_can_reach_is_refused(cli, project: Project, url: str) -> None:
    project.git.run("remote", "set-url", "origin", url.format(origin=project.origin))
    project.git.run("remote", "set-url", "--push", "origin", str(project.origin))
    result = cli(["cluster", "render", "eval"], cwd=project.root)
    assert result.code == 1
    assert "is a path on this machine" in result.err
    assert "repository = " in result.err
    assert "git remote set-url origin URL" in result.err


def test_a_local_repository_setting_is_refused(cli, project: Project) -> None:
    _configured(project, '[tool.torchlane.cluster]\nrepository = "file:///srv/git/vision.git"\n')
    result = cli(["cluster", "render", "eval"], cwd=project.root)
    assert result.code != 0
    assert "[tool.torchlane.cluster] repository" in result.err
    assert "which a cluster cannot clone" in result.err


def test_the_fixture_configuration_still_renders(cli, cluster_project: Project) -> None:
    assert "accelerator" in CLUSTER_CONFIG
    main = _main(cli, cluster_project)
    assert main["resources"]["requests"]["nvidia.com/gpu"] == "2"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("/srv/git/repo.git", True), ("./repo", True), ("../repo.git", True), ("repo", True),
        ("file:///srv/git/repo.git", True), ("FILE:///x", True), ("C:\\git\\repo", True),
        ("./a:b", True), ("https://github.com/org/repo.git", False),
        ("git@github.com:org/repo.git", False), ("ssh://git@host:2222/org/repo.git", False),
        ("host:repo.git", False), ("git://host/repo", False),
    ],
)  # fmt: skip
def test_local_urls(url: str, local: bool) -> None:
    assert local_url(url) is local


@given(st.from_regex(r"/[a-z0-9/._-]{0,30}", fullmatch=True))
def test_absolute_paths_are_local(path: str) -> None:
    assert local_url(path)
    assert local_url("file://" + path)
    assert not local_url("https://host" + path)
    assert not local_url("git@host:" + path.lstrip("/"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")), ("2", Decimal(2)), ("16Gi", Decimal(16 * 2**30)),
        ("1G", Decimal(10**9)), ("1e3", Decimal(1000)), (".5", Decimal("0.5")),
        ("1.5Ki", Decimal(1536)), ("100n", Decimal("1e-7")), ("2E-2", Decimal("0.02")),
    ],
)  # fmt: skip
def test_quantity_values(text: str, value: Decimal) -> None:
    assert quantity_value(text) == value


@given(
    st.integers(0, 10**6),
    st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti"]),
    st.integers(1, 10**6),
)
def test_quantities_order_as_their_amounts(number: int, suffix: str, other: int) -> None:
    """Binary suffixes are above their decimal namesakes; a larger number is a larger amount."""
    assert quantity_value(f"{number}{suffix}") < quantity_value(f"{number + other}{suffix}")
    if suffix in ("k", "M", "G") and number:
        binary = "Ki" if suffix == "k" else f"{suffix}i"
        assert quantity_value(f"{number}{suffix}") < quantity_value(f"{number}{binary}")


@pytest.mark.parametrize("text", ["", "Gi", "1.2.3", "-1", "1Xi", "1 Gi"])
def test_not_quantities(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity_value(text)
