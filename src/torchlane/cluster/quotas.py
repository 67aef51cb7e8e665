"""`torchlane cluster render quotas`: a Namespace, ResourceQuota and LimitRange per quota holder
of [tool.torchlane.team] (each member outside a group, each group): the same GPUs, memory and CPUs
as on the shared server, so the numbers are declared once."""

from __future__ import annotations

from torchlane.cluster.manifests import MANAGED_BY
from torchlane.cluster.pods import Manifest
from torchlane.cluster.settings import DNS_LABEL, RESOURCES, ClusterConfig, quantity_value
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


def limit_range_defaults(
    cluster: ClusterConfig, table: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The LimitRange's default request and limit, raised where they would reject torchlane's own
    Jobs: a container that states no limit gets the default one, and Kubernetes refuses a
    container whose request is above its limit (and a LimitRange whose defaultRequest is above
    its default). A default the user wrote is never raised: that contradiction is refused."""
    defaults = cluster.quotas
    request, limit = defaults.default_request.as_dict(), defaults.default_limit.as_dict()
    stated = "default_limit" in defaults.model_fields_set
    job_requests, job_limits = cluster.resources()
    for key in RESOURCES:
        if key not in limit:
            continue
        needs = [(f"quotas.default_request.{key}", request.get(key))]
        if key not in job_limits:  # the default limit applies to the Job's main container
            needs.append((f"requests.{key}", job_requests.get(key)))
        for what, amount in needs:
            if amount is None or quantity_value(amount) <= quantity_value(limit[key]):
                continue
            if stated:
                raise TorchlaneError(
                    f"[{table}] quotas.default_limit.{key} {limit[key]} is below {what} "
                    f"{amount}, so the team namespaces would reject torchlane's own pods.",
                    f"Raise quotas.default_limit.{key} to at least {amount}, or set "
                    f"limits.{key} for the jobs (a container that states a limit keeps it).",
                )
            limit[key] = amount
    return request, limit


def _check_fits(quota: Quota, cluster: ClusterConfig, table: str) -> None:
    """A quota smaller than one Job's pod admits none of the holder's Jobs: say so now."""
    requests, _ = cluster.resources()
    hard = {"cpu": cpu_quantity(quota.cpus), "memory": quota.memory_quantity}
    for key in RESOURCES:
        amount = requests.get(key)
        if amount is not None and quantity_value(amount) > quantity_value(hard[key]):
            kind = f"{quota.kind}s"
            asked = "cpus" if key == "cpu" else "memory"
            raise TorchlaneError(
                f"[{table}.{kind}.{quota.name}] allows {asked} {hard[key]}, less than one torchlane "
                f"job asks ([{table.removesuffix('team')}cluster.requests] {key} {amount}), so the "
                "cluster would admit none of its jobs.",
                f"Raise {asked} of {quota.name!r}, or lower the jobs' requests.{key}.",
            )


def _documents(
    quota: Quota, namespace: str, cluster: ClusterConfig, gpu_resource: str
) -> list[Manifest]:
    labels = {**MANAGED_BY, "torchlane/team": namespace, "torchlane/quota-kind": quota.kind}
    # The exact name and the members are for people reading the cluster; labels cannot hold them.
    annotations = {"torchlane/quota": quota.name, "torchlane/members": ",".join(quota.members)}
    metadata = {"namespace": namespace, "labels": labels, "annotations": annotations}
    default_request, default_limit = limit_range_defaults(cluster, "")
    limits: Manifest = {"type": "Container"}
    if default_limit:
        limits["default"] = default_limit
    if default_request:
        limits["defaultRequest"] = default_request
    hard = {
        "requests.cpu": cpu_quantity(quota.cpus),
        "requests.memory": quota.memory_quantity,
        # A count: the server's device indices mean nothing to the cluster's scheduler.
        f"requests.{gpu_resource}": str(len(quota.gpus)),
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
    cluster_table = table.removesuffix("team") + "cluster"
    limit_range_defaults(cluster, cluster_table)  # refuses a contradiction once, by name
    for quota, namespace in zip(plan.quotas, namespaces, strict=True):
        _check_fits(quota, cluster, table)
        documents += _documents(
            quota, namespace, cluster, cluster.gpu_resource_for(loaded.config.env.accelerator)
        )
    return documents
