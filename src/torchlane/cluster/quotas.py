"""`torchlane cluster render quotas`: a Namespace, ResourceQuota and LimitRange per quota holder
of [tool.torchlane.team] (each member outside a group, each group): the same GPUs, memory and CPUs
as on the shared server, so the numbers are declared once."""

from __future__ import annotations

from torchlane.cluster.manifests import MANAGED_BY
from torchlane.cluster.pods import Manifest
from torchlane.cluster.settings import DNS_LABEL, ClusterConfig
from torchlane.config.load import LoadedConfig
from torchlane.errors import TorchlaneError
from torchlane.team.quotas import Quota, team_plan


def namespace_name(prefix: str, holder: str) -> str | None:
    """The holder's namespace (prefix + name, lowercase, '_' as '-'), or None when that is not a
    valid namespace name (e.g. a name starting or ending with '_')."""
    name = prefix + holder.lower().replace("_", "-")
    return name if len(name) <= 63 and DNS_LABEL.fullmatch(name) else None


def cpu_quantity(cpus: float) -> str:
    """CPUs as a Kubernetes quantity: whole CPUs as a number, others in millicores (at least 1m)."""
    millis = max(round(cpus * 1000), 1)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _namespaces(quotas: list[Quota], prefix: str, source: str, table: str) -> list[str]:
    names: dict[str, str] = {}
    for quota in quotas:
        key = f"[{table}.{quota.kind}s.{quota.name}]"
        name = namespace_name(prefix, quota.name)
        if name is None:
            raise TorchlaneError(
                f"{source}: {key}: {prefix + quota.name.replace('_', '-')!r} is not a valid Kubernetes "
                "namespace name, so its quota cannot be rendered.",
                "A namespace is at most 63 lowercase letters, digits and '-', starting and ending "
                "with a letter or digit ('_' becomes '-'): rename the member or group.",
            )
        if name in names:
            raise TorchlaneError(
                f"{source}: {key} and {names[name]} would both get the namespace {name!r}.",
                "Rename one of them ('_' becomes '-' in a namespace name).",
            )
        names[name] = key
    return list(names)


def _documents(quota: Quota, namespace: str, cluster: ClusterConfig) -> list[Manifest]:
    labels = {**MANAGED_BY, "torchlane/team": namespace, "torchlane/quota-kind": quota.kind}
    # The exact name and the members are for people reading the cluster; labels cannot hold them.
    annotations = {"torchlane/quota": quota.name, "torchlane/members": ",".join(quota.members)}
    metadata = {"namespace": namespace, "labels": labels, "annotations": annotations}
    defaults = cluster.quotas
    limits: Manifest = {"type": "Container"}
    if defaults.default_limit.as_dict():
        limits["default"] = defaults.default_limit.as_dict()
    if defaults.default_request.as_dict():
        limits["defaultRequest"] = defaults.default_request.as_dict()
    hard = {
        "requests.cpu": cpu_quantity(quota.cpus),
        "requests.memory": quota.memory_quantity,
        # A count: the server's device indices mean nothing to the cluster's scheduler.
        f"requests.{cluster.gpu_resource}": str(len(quota.gpus)),
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels, "annotations": annotations},
        },
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "torchlane-quota", **metadata},
            "spec": {"hard": hard},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "torchlane-defaults", **metadata},
            "spec": {"limits": [limits]},
        },
    ]


def quota_documents(loaded: LoadedConfig) -> list[Manifest]:
    """Namespace, ResourceQuota and LimitRange for each quota of [tool.torchlane.team]."""
    plan = team_plan(loaded)
    table = ".".join(filter(None, [loaded.table, "team"]))
    source = loaded.path.name if loaded.path else "pyproject.toml"
    if plan is None or not plan.quotas:
        raise TorchlaneError(
            "No team is declared, so there are no quotas to render.",
            f"Declare members or groups in [{table}] of {source} (gpus, memory, cpus); "
            "see docs/scaling.md.",
        )
    cluster = loaded.config.cluster
    namespaces = _namespaces(plan.quotas, cluster.quotas.namespace_prefix, source, table)
    documents: list[Manifest] = []
    for quota, namespace in zip(plan.quotas, namespaces, strict=True):
        documents += _documents(quota, namespace, cluster)
    return documents
