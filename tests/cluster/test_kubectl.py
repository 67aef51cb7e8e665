"""submit and logs through the real kubectl: missing, without a context, and with a cluster that
refuses connections (a loopback port nothing listens on)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Project
from torchlane.cluster.kubectl import Kubectl, logs_command

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")

UNREACHABLE = """\
apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:9
contexts:
- name: nowhere
  context:
    cluster: nowhere
    user: nobody
users:
- name: nobody
  user:
    token: dummy
current-context: nowhere
"""


@pytest.fixture
def no_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with git (torchlane needs it) and no kubectl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git is not None
    (bin_dir / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bin_dir))


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def use(text: str) -> Path:
        path = tmp_path / "kubeconfig"
        path.write_text(text)
        monkeypatch.setenv("KUBECONFIG", str(path))
        return path

    return use


@pytest.mark.parametrize(
    "args", [["cluster", "submit", "eval"], ["cluster", "logs", "some-job", "--follow"]]
)
def test_missing_kubectl(cli, cluster_project: Project, no_kubectl: None, args: list[str]) -> None:
    result = cli(args, cwd=cluster_project.root)
    assert result.code == 1
    assert "kubectl is not installed" in result.err
    assert "hint: Install kubectl" in result.err


@pytest.mark.parametrize(
    "args", [["cluster", "submit", "eval", "--dry-run"], ["cluster", "logs", "some-job"]]
)
def test_no_current_context(cli, cluster_project: Project, kubeconfig, args: list[str]) -> None:
    kubeconfig("")
    result = cli(args, cwd=cluster_project.root)
    assert result.code == 1
    assert "kubectl has no current context" in result.err
    assert "kubectl config use-context" in result.err


def test_submit_to_an_unreachable_cluster_fails_clearly(
    cli, cluster_project: Project, kubeconfig
) -> None:
    kubeconfig(UNREACHABLE)
    result = cli(
        ["cluster", "submit", "train", "--dry-run", "--", "train.py"], cwd=cluster_project.root
    )
    assert result.code == 1
    assert "kubectl apply failed on context 'nowhere'" in result.err
    assert "connection refused" in result.err
    assert "hint:" in result.err


def test_submit_still_refuses_a_dirty_tree(cli, cluster_project: Project, kubeconfig) -> None:
    kubeconfig(UNREACHABLE)
    (cluster_project.root / "README.md").write_text("changed\n")
    result = cli(["cluster", "submit", "eval"], cwd=cluster_project.root)
    assert result.code == 1
    assert "uncommitted changes" in result.err


def test_logs_reports_kubectl_failure(cli, cluster_project: Project, kubeconfig) -> None:
    kubeconfig(UNREACHABLE)
    result = cli(["cluster", "logs", "job/some-job"], cwd=cluster_project.root)
    assert result.code != 0


def test_logs_find_the_right_pod() -> None:
    kubectl = Kubectl("kubectl", "ctx")
    assert logs_command(kubectl, "vision-eval-1234abcd", follow=True, namespace="vision") == [
        "kubectl", "--context", "ctx", "--namespace", "vision",
        "logs", "--follow", "job/vision-eval-1234abcd", "--container", "main",
    ]  # fmt: skip
    master = logs_command(kubectl, "vision-train-1234abcd", follow=False, namespace=None)
    assert master == [
        "kubectl", "--context", "ctx", "logs", "--selector",
        "training.kubeflow.org/job-name=vision-train-1234abcd,"
        "training.kubeflow.org/replica-index=0,torchlane/lead=true",
        "--container", "pytorch",
    ]  # fmt: skip
    assert logs_command(kubectl, "pytorchjob/t1", follow=False, namespace=None)[5].endswith(
        "job-name=t1,training.kubeflow.org/replica-index=0,torchlane/lead=true"
    )
