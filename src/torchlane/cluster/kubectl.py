"""kubectl, the one client every cluster already trusts: torchlane applies and reads through it,
with the user's own kubeconfig, context and credentials. No Kubernetes client library."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from torchlane import proc
from torchlane.errors import TorchlaneError

JOB_NAME_LABEL = "training.kubeflow.org/job-name"  # set by the training operator
REPLICA_INDEX_LABEL = "training.kubeflow.org/replica-index"
LEAD_LABEL = "torchlane/lead"  # on the Master's template, or the Workers' in an elastic job


@dataclass(frozen=True)
class Kubectl:
    path: str
    context: str

    def command(self, *args: str, namespace: str | None = None) -> list[str]:
        scope = ["--namespace", namespace] if namespace else []
        return [self.path, "--context", self.context, *scope, *args]


@dataclass(frozen=True)
class ApplyResult:
    context: str
    dry_run: bool
    applied: list[str]  # kubectl's lines: "job.batch/NAME created"


def open_kubectl() -> Kubectl:
    path = shutil.which("kubectl")
    if path is None:
        raise TorchlaneError(
            "kubectl is not installed (or not on PATH); torchlane submits through it.",
            "Install kubectl (https://kubernetes.io/docs/tasks/tools/) and configure access to "
            "your cluster, or write the manifests with `torchlane cluster render --output DIR`.",
        )
    result = proc.run([path, "config", "current-context"], check=False)
    context = result.stdout.strip()
    if result.returncode != 0 or not context:
        raise TorchlaneError(
            "kubectl has no current context, so it does not know which cluster to use.",
            "Pick one with `kubectl config use-context NAME` (list them with "
            "`kubectl config get-contexts`), or point KUBECONFIG at your cluster's kubeconfig.",
        )
    return Kubectl(path, context)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def apply(kubectl: Kubectl, manifests: str, *, dry_run: bool) -> ApplyResult:
    args = ["apply", "-f", "-"] + (["--dry-run=server"] if dry_run else [])
    result = proc.run(kubectl.command(*args), input=manifests, check=False)
    if result.returncode != 0:
        raise TorchlaneError(
            f"kubectl apply failed on context '{kubectl.context}': {_last_line(result.stderr)}",
            "Check that the cluster is reachable (`kubectl cluster-info`), that the namespace "
            "exists, and, for `train`, that the Kubeflow training operator is installed.",
        )
    return ApplyResult(kubectl.context, dry_run, result.stdout.strip().splitlines())


def logs_command(kubectl: Kubectl, job: str, *, follow: bool, namespace: str | None) -> list[str]:
    """`kubectl logs` for a Job (its main container) or a PyTorchJob (the `pytorch` container of
    its lead pod: master-0, or worker-0 in an elastic job)."""
    kind, _, name = job.rpartition("/")
    kind = kind.lower() or ("pytorchjob" if "-train-" in name else "job")
    if kind not in ("job", "pytorchjob") or not name:
        raise TorchlaneError(
            f"'{job}' does not name a job.", "Pass NAME, job/NAME or pytorchjob/NAME."
        )
    follow_flag = ["--follow"] if follow else []
    if kind == "job":
        return kubectl.command(
            "logs", *follow_flag, f"job/{name}", "--container", "main", namespace=namespace
        )
    selector = f"{JOB_NAME_LABEL}={name},{REPLICA_INDEX_LABEL}=0,{LEAD_LABEL}=true"
    return kubectl.command(
        "logs", *follow_flag, "--selector", selector, "--container", "pytorch",
        namespace=namespace,
    )  # fmt: skip


def stream_logs(kubectl: Kubectl, job: str, *, follow: bool, namespace: str | None) -> int:
    """Run kubectl with our stdout and stderr: logs stream as they come. Returns its exit code."""
    return proc.passthrough(logs_command(kubectl, job, follow=follow, namespace=namespace))
