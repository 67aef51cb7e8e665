from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.cluster.conftest import DATA, kubernetes_validate, pytorchjob_schema
from tests.conftest import Project, commit_file, commit_pyproject


def _render(cli, project: Project, *args: str) -> tuple[Path, list[dict[str, Any]]]:
    out = project.root.parent / "manifests"
    result = cli(["cluster", "render", "--output", str(out), "--json", *args], cwd=project.root)
    assert result.code == 0, result.err
    path = Path(json.loads(result.out)["path"])
    return path, list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def _assert_valid(path: Path, resources: int) -> None:
    proc = kubernetes_validate(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(" passed for resource ") == resources, proc.stdout
    assert "WARN" not in proc.stdout


@pytest.mark.parametrize("kind", ["eval", "run"])
def test_jobs_are_valid_kubernetes_and_pin_the_commit(
    cli, cluster_project: Project, kind: str
) -> None:
    command = ("--", "python", "train.py", "--lr", "3e-4") if kind == "run" else ()
    path, (job,) = _render(cli, cluster_project, kind, *command)
    _assert_valid(path, 1)
    sha = cluster_project.git.out("rev-parse", "HEAD")
    assert job["kind"] == "Job"
    assert job["metadata"]["namespace"] == "vision"
    assert job["metadata"]["labels"]["torchlane/commit"] == sha
    assert job["metadata"]["labels"]["torchlane/branch"] == "feature-resnet-depth"
    assert job["metadata"]["annotations"]["torchlane/branch"] == "feature/resnet-depth"
    pod = job["spec"]["template"]["spec"]
    assert job["spec"]["backoffLimit"] == 2
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert pod["restartPolicy"] == "Never"
    (checkout,) = pod["initContainers"]
    (main,) = pod["containers"]
    env = {e["name"]: e for e in main["env"]}
    assert env["TORCHLANE_COMMIT"]["value"] == sha
    assert {e["name"]: e.get("value") for e in checkout["env"]}["TORCHLANE_COMMIT"] == sha
    assert env["WANDB_API_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "wandb", "key": "api-key"}
    }
    assert main["image"] == "pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime"
    assert main["resources"]["requests"] == {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}
    assert main["resources"]["limits"] == {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "2"}
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert pod["serviceAccountName"] == "trainer"
    assert pod["imagePullSecrets"] == [{"name": "registry"}]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["git-credentials"]["secret"]["secretName"] == "git-credentials"
    assert volumes["workspace"] == {"name": "workspace", "emptyDir": {}}
    script = main["command"][2]
    if kind == "eval":
        assert main["command"][3:] == ["torchlane"]
        assert script.index("torchlane eval") < script.index("metrics push")
        assert script.index("metrics push") < script.index("torchlane gate")
    else:
        assert main["command"][3:] == ["torchlane", "python", "train.py", "--lr", "3e-4"]
        assert 'torchlane run -- "$@"' in script
        assert "--notes-ref refs/notes/torchlane-runs" in script


def test_the_strict_validator_rejects_what_kubernetes_would(
    cli, cluster_project: Project, tmp_path: Path
) -> None:
    """The check above can fail: a misspelt field and a bad quantity are caught."""
    _, (job,) = _render(cli, cluster_project, "eval")
    job["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(job))
    proc = kubernetes_validate(broken)
    assert proc.returncode != 0
    assert "resource" in proc.stdout


def test_pytorchjob_follows_the_training_operator_schema(cli, cluster_project: Project) -> None:
    path, (job,) = _render(cli, cluster_project, "train", "--", "train.py", "--epochs", "2")
    jsonschema.Draft7Validator(pytorchjob_schema()).validate(job)
    assert job["apiVersion"] == "kubeflow.org/v1"
    spec = job["spec"]
    assert spec["elasticPolicy"] == {
        "minReplicas": 2, "maxReplicas": 6, "rdzvBackend": "c10d", "maxRestarts": 3,
    }  # fmt: skip
    assert spec["runPolicy"]["backoffLimit"] == 2
    replicas = spec["pytorchReplicaSpecs"]
    # Elastic: Workers only (the operator's rendezvous runs on worker-0), container `pytorch`.
    assert list(replicas) == ["Worker"]
    assert replicas["Worker"]["replicas"] == 3
    template = replicas["Worker"]["template"]
    assert template["metadata"]["labels"]["torchlane/lead"] == "true"
    container = template["spec"]["containers"][0]
    assert container["name"] == "pytorch"
    assert container["ports"] == [
        {"name": "pytorchjob-port", "containerPort": 23456, "protocol": "TCP"}
    ]
    assert container["command"][3:] == ["torchlane", "torchrun", "train.py", "--epochs", "2"]
    templates = [
        {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": f"{job['metadata']['name']}-worker"},
            "template": template,
        }
    ]
    # The pod templates (trimmed from the CRD copy) against Kubernetes' own schema.
    pods = path.with_name("pod-templates.yaml")
    pods.write_text(yaml.safe_dump_all(templates))
    _assert_valid(pods, 1)
    assert "&id" not in path.read_text()  # shared parts are written out, not aliased


def test_crd_schema_catches_a_wrong_pytorchjob(cli, cluster_project: Project) -> None:
    _, (job,) = _render(cli, cluster_project, "train", "--", "torchrun", "train.py")
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0][
        "command"
    ][3:] == ["torchlane", "torchrun", "train.py"]
    job["spec"]["elasticPolicy"]["minReplica"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(pytorchjob_schema()).validate(job)


def test_the_committed_crd_is_itself_a_valid_crd() -> None:
    _assert_valid(DATA / "kubeflow.org_pytorchjobs.yaml", 1)


def test_quotas_come_from_the_team_table_and_are_valid_kubernetes(
    cli, cluster_project: Project
) -> None:
    # The team table of the shared server is the only declaration of the quotas.
    path, documents = _render(cli, cluster_project, "quotas", "--allow-dirty")
    _assert_valid(path, 6)
    assert path.name == "torchlane-quotas.yaml"
    kinds = [(d["kind"], d["metadata"].get("namespace", d["metadata"]["name"])) for d in documents]
    assert kinds == [
        ("Namespace", "team-vision"), ("ResourceQuota", "team-vision"), ("LimitRange", "team-vision"),
        ("Namespace", "team-alice-w"), ("ResourceQuota", "team-alice-w"), ("LimitRange", "team-alice-w"),
    ]  # fmt: skip
    # The group: a count of 4 GPUs, a total of 1t and 24.5 CPUs.
    assert documents[1]["spec"]["hard"] == {
        "requests.cpu": "24500m", "requests.memory": "1024Gi", "requests.nvidia.com/gpu": "4",
    }  # fmt: skip
    assert documents[1]["metadata"]["annotations"] == {
        "torchlane/quota": "vision", "torchlane/members": "carol,dave",
    }  # fmt: skip
    assert documents[4]["spec"]["hard"] == {
        "requests.cpu": "8", "requests.memory": "64Gi", "requests.nvidia.com/gpu": "2",
    }  # fmt: skip
    assert documents[4]["metadata"]["annotations"]["torchlane/quota"] == "alice_w"
    assert documents[5]["spec"]["limits"] == [
        {
            "type": "Container",
            "default": {"cpu": "2", "memory": "8Gi"},
            "defaultRequest": {"cpu": "500m", "memory": "2Gi"},
        }
    ]


@pytest.mark.parametrize(
    ("team", "message"),
    [
        ("[tool.torchlane.team.members.bob_]\njupyter_port = 8890\ntensorboard_port = 6010\n",
         "[tool.torchlane.team.members.bob_]: 'bob-' is not a valid Kubernetes namespace name"),
        ("[tool.torchlane.team.members.ml_ops]\njupyter_port = 8890\ntensorboard_port = 6010\n"
         "[tool.torchlane.team.members.carol]\njupyter_port = 8891\ntensorboard_port = 6011\n"
         "[tool.torchlane.team.groups.ml-ops]\nmembers = ['carol']\n",
         "[tool.torchlane.team.members.ml_ops] and [tool.torchlane.team.groups.ml-ops] would both "
         "get the namespace 'ml-ops'"),
    ],
)  # fmt: skip
def test_member_names_that_make_no_namespace_are_refused(
    cli, project: Project, team: str, message: str
) -> None:
    commit_pyproject(project, team, "Declare the team")
    out = project.root.parent / "manifests"
    result = cli(["cluster", "render", "quotas", "--output", str(out)], cwd=project.root)
    assert result.code == 1
    assert f"pyproject.toml: {message}" in result.err
    assert not out.exists()


def test_printed_yaml_is_what_is_written(cli, cluster_project: Project) -> None:
    printed = cli(["cluster", "render", "eval"], cwd=cluster_project.root)
    assert printed.code == 0, printed.err
    path, documents = _render(cli, cluster_project, "eval")
    assert printed.out == path.read_text(encoding="utf-8")
    assert printed.out.startswith("# Rendered by `torchlane cluster render eval` at ")
    assert list(yaml.safe_load_all(printed.out)) == documents


def test_rev_resolves_to_the_full_commit(cli, cluster_project: Project) -> None:
    git = cluster_project.git
    first = git.out("rev-parse", "HEAD")
    commit_file(git, "model.py", "DEPTH = 50\n", "Deepen the model")
    git.run("push", "--quiet")
    _, (job,) = _render(cli, cluster_project, "eval", "--rev", first[:7])
    assert job["metadata"]["labels"]["torchlane/commit"] == first
    assert job["metadata"]["name"].endswith(f"-eval-{first[:8]}")
    assert "torchlane/branch" not in job["metadata"]["labels"]  # a commit, not a branch


def test_dirty_tree_is_refused_unless_allowed(cli, cluster_project: Project) -> None:
    (cluster_project.root / "README.md").write_text("changed\n")
    refused = cli(["cluster", "render", "eval"], cwd=cluster_project.root)
    assert refused.code == 1
    assert "uncommitted changes" in refused.err
    assert "--allow-dirty" in refused.err
    assert refused.out == ""
    allowed = cli(["cluster", "render", "eval", "--allow-dirty"], cwd=cluster_project.root)
    assert allowed.code == 0, allowed.err


def test_unpushed_commit_is_refused(cli, cluster_project: Project, tmp_path: Path) -> None:
    commit_file(cluster_project.git, "model.py", "DEPTH = 101\n", "Not pushed yet")
    out = tmp_path / "out"
    result = cli(["cluster", "render", "eval", "--output", str(out)], cwd=cluster_project.root)
    assert result.code == 1
    assert "is not on 'origin'" in result.err
    assert "Push it first" in result.err
    assert not out.exists()


def test_no_secret_values_reach_a_manifest(cli, cluster_project: Project) -> None:
    cluster_project.git.run(
        "remote", "set-url", "origin", "https://ml-bot:ghp_SECRETTOKEN@example.com/org/Vision.git"
    )
    cluster_project.git.run(
        "update-ref", "refs/remotes/origin/feature/resnet-depth", "HEAD"
    )  # set-url keeps the tracking refs
    result = cli(["cluster", "render", "run", "--", "python", "x.py"], cwd=cluster_project.root)
    assert result.code == 0, result.err
    assert "SECRETTOKEN" not in result.out
    assert "https://ml-bot@example.com/org/Vision.git" in result.out
    assert "vision-run-" in result.out  # the project's name comes from the repository


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "needs the command to run"),
        (["eval", "--", "python", "x.py"], "takes no command"),
        (["quotas", "--", "x"], "takes no command"),
        (["eval", "--name", "Bad_Name"], "cannot name a job"),
        (["eval", "--rev", "no-such-branch"], "does not name a commit"),
    ],
)
def test_bad_requests_get_one_clear_error(
    cli, cluster_project: Project, args: list[str], message: str
) -> None:
    result = cli(["cluster", "render", *args], cwd=cluster_project.root)
    assert result.code != 0
    assert message in result.err
    assert "hint:" in result.err
    assert result.out == ""


def test_train_without_a_command_uses_the_configured_one(cli, project: Project) -> None:
    commit_pyproject(
        project,
        # The bare origin is a path: `repository` names the URL the cluster clones instead.
        '[tool.torchlane.cluster]\nrepository = "https://git.example.com/t/v.git"\n'
        '[tool.torchlane.cluster.train]\ncommand = ["python", "-m", "torch.distributed.run", '
        '"train.py"]\nworkers = 0\n',
    )
    project.git.run("push", "--quiet", "origin", "HEAD")
    result = cli(["cluster", "render", "train", "--json", "--name", "t1"], cwd=project.root)
    assert result.code == 0, result.err
    (job,) = json.loads(result.out)["documents"]
    jsonschema.Draft7Validator(pytorchjob_schema()).validate(job)
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert list(replicas) == ["Master"]
    assert replicas["Master"]["replicas"] == 1  # the operator admits exactly one
    assert replicas["Master"]["template"]["metadata"]["labels"]["torchlane/lead"] == "true"
    assert "elasticPolicy" not in job["spec"]
    command = replicas["Master"]["template"]["spec"]["containers"][0]["command"]
    assert command[3:] == ["torchlane", "python", "-m", "torch.distributed.run", "train.py"]
    assert "namespace" not in job["metadata"]  # kubectl's current namespace
    assert job["metadata"]["name"] == "t1"
    env = replicas["Master"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "TORCHLANE_REPOSITORY", "value": "https://git.example.com/t/v.git"} in env


def test_no_team_no_quotas(cli, project: Project) -> None:
    result = cli(["cluster", "render", "quotas"], cwd=project.root)
    assert result.code == 1
    assert "No team is declared" in result.err
    assert "Declare members or groups in [team] of .torchlane.toml" in result.err
