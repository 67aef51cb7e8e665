"""`[tool.torchlane.cluster]`: how torchlane's jobs run on Kubernetes (and Kubeflow's PyTorchJob).

Every value that ends up in a manifest is checked here, at load time, with Kubernetes' own rules
(quantities, names, label values): a typo must fail `torchlane cluster render`, not the API server
minutes later. Secrets are named by reference only; no field can hold a secret's value.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from torchlane.config.section import Section
from torchlane.config.values import ImageReference

# The Kubernetes resource.Quantity grammar (as in the API's OpenAPI pattern), without a sign:
# a resource amount in a configuration is never negative.
QUANTITY = re.compile(
    r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?"
)
# RFC 1123 label (namespaces, volume names) and subdomain (Secrets, service accounts).
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Empty, or the start of a DNS label: a namespace name follows it.
NAMESPACE_PREFIX = re.compile(r"([a-z0-9][-a-z0-9]*)?")
SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A qualified name (label keys, resource names such as nvidia.com/gpu): optional DNS prefix + name.
QUALIFIED_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


_SUFFIX = {
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60, "n": Decimal("1e-9"), "u": Decimal("1e-6"),
    "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal("1e3"), "M": Decimal("1e6"),
    "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18"),
}  # fmt: skip
_NUMBER = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(.*)")


def quantity_value(text: str) -> Decimal:
    """The amount a Kubernetes quantity stands for ('500m' -> 0.5, '16Gi' -> 17179869184), to
    compare requests with limits as the API server does."""
    match = _NUMBER.fullmatch(text) if QUANTITY.fullmatch(text) else None
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    number, suffix = Decimal(match[1]), match[2]
    if suffix in _SUFFIX:
        return number * _SUFFIX[suffix]
    return number * Decimal(10) ** int(suffix[1:])  # a decimal exponent: 1e3, 2E-2


def local_url(url: str) -> bool:
    """Whether a git URL names a path on this machine (which a cluster's pod cannot clone):
    file://, an absolute or relative path. `host:path` (scp-like) and scheme://... are remote."""
    if "://" in url:
        return url.split("://", 1)[0].lower() == "file"
    colon, slash = url.find(":"), url.find("/")
    # git's rule: a colon before any slash makes `host:path`; a drive letter (C:\\) is a path.
    scp_like = colon > 0 and (slash == -1 or colon < slash)
    return not scp_like or bool(re.fullmatch(r"[A-Za-z]:[\\/].*", url))


def _reachable(url: str | None) -> str | None:
    if url is not None and (not url or any(ch.isspace() or not ch.isprintable() for ch in url)):
        raise ValueError(f"{url!r} is not a URL: it is empty or holds spaces or control characters")
    if url is not None and local_url(url):
        raise ValueError(
            f"{url!r} is a path on this machine, which a cluster cannot clone; use the URL the "
            "cluster reaches (https://host/org/repo.git or git@host:org/repo.git)"
        )
    return url


def _matching(pattern: re.Pattern[str], what: str, max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > max_length or not pattern.fullmatch(value):
            raise ValueError(f"not a valid {what}")
        return value

    return AfterValidator(check)


def _number_as_text(value: object) -> object:
    # `cpu = 4` in TOML is as good as `cpu = "4"`; a float or bool is not a quantity's spelling.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Quantity = Annotated[
    str,
    BeforeValidator(_number_as_text),
    _matching(QUANTITY, "Kubernetes quantity (e.g. '4', '500m', '16Gi')", 64),
]
DnsLabel = Annotated[str, _matching(DNS_LABEL, "DNS label (lowercase letters, digits, '-')", 63)]
DnsSubdomain = Annotated[str, _matching(DNS_SUBDOMAIN, "Kubernetes object name", 253)]
QualifiedName = Annotated[str, _matching(QUALIFIED_NAME, "Kubernetes label key", 316)]
LabelValue = Annotated[str, _matching(LABEL_VALUE, "Kubernetes label value", 63)]


class Amounts(Section):
    """CPU and memory, as Kubernetes quantities; unset means 'not stated'."""

    cpu: Quantity | None = None
    memory: Quantity | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("cpu", self.cpu), ("memory", self.memory)) if v is not None}


class SecretRef(Section):
    """One key of a Kubernetes Secret, exposed to the job as an environment variable."""

    name: DnsSubdomain
    key: Annotated[str, _matching(SECRET_KEY, "Secret key", 253)]
    env: Annotated[str, _matching(ENV_NAME, "environment variable name", 256)]


class GitCredentials(Section):
    """A Secret the checkout reads to clone (and `metrics push` to push) the repository.

    https: the key holds a git-credentials file (`https://USER:TOKEN@github.com` lines).
    ssh: the key holds a private key (a Secret of type kubernetes.io/ssh-auth uses 'ssh-privatekey').
    """

    name: DnsSubdomain  # the Secret's name
    kind: Literal["https", "ssh"] = "https"
    key: Annotated[str, _matching(SECRET_KEY, "Secret key", 253)] | None = None

    @property
    def secret_key(self) -> str:
        return self.key or (".git-credentials" if self.kind == "https" else "ssh-privatekey")


class Toleration(Section):
    key: QualifiedName | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: LabelValue | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("a toleration with operator 'Exists' takes no value")
        if self.key is None and self.operator != "Exists":
            raise ValueError("a toleration without a key must use operator 'Exists'")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError("toleration_seconds applies only to effect 'NoExecute'")
        return self

    def manifest(self) -> dict[str, object]:
        fields = {
            "key": self.key,
            "operator": self.operator,
            "value": self.value,
            "effect": self.effect,
            "tolerationSeconds": self.toleration_seconds,
        }
        return {k: v for k, v in fields.items() if v is not None}


class ElasticPolicy(Section):
    """Kubeflow's elasticPolicy: workers may come and go between min and max replicas."""

    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=4, ge=1)
    rdzv_backend: Literal["c10d", "etcd", "etcd-v2"] = "c10d"
    max_restarts: int = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ElasticPolicy:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


class TrainSettings(Section):
    """`torchlane cluster render train`: a Kubeflow PyTorchJob, a Master and `workers` Workers;
    with `elastic`, Workers only (the operator runs the rendezvous on worker-0)."""

    workers: int = Field(default=1, ge=0, description="Worker replicas (besides the Master)")
    nproc_per_node: str = Field(default="auto", pattern=r"auto|cpu|gpu|[1-9][0-9]*")
    command: tuple[str, ...] = Field(
        default=(), description="training command when none is given after `--`"
    )
    elastic: ElasticPolicy | None = None

    @model_validator(mode="after")
    def _workers_for_elastic(self) -> TrainSettings:
        elastic = self.elastic
        if elastic is not None and not elastic.min_replicas <= self.workers <= elastic.max_replicas:
            raise ValueError(
                "an elastic job starts with `workers` between min_replicas and max_replicas"
            )
        return self


class QuotaSettings(Section):
    """`torchlane cluster render quotas`: the cluster-only side of [tool.torchlane.team]'s quotas
    (which holds the GPUs, memory and CPUs: one table for the shared server and the cluster)."""

    namespace_prefix: Annotated[
        str, _matching(NAMESPACE_PREFIX, "namespace prefix (lowercase letters, digits, '-')", 30)
    ] = Field(default="", description="prepended to each member's or group's namespace")
    # What a container gets when it states nothing: without defaults a quota on requests.cpu
    # rejects every pod that does not state its requests.
    default_request: Amounts = Amounts(cpu="1", memory="4Gi")
    default_limit: Amounts = Amounts(cpu="2", memory="8Gi")


RESOURCES = ("cpu", "memory")


class ClusterConfig(Section):
    namespace: DnsLabel | None = Field(
        default=None, description="default: the namespace of kubectl's current context"
    )
    image: ImageReference | None = Field(
        default=None, description="default: the CI image from [env]"
    )
    checkout_image: ImageReference | None = Field(
        default=None, description="image of the clone step; default: the job's image"
    )
    repository: Annotated[str | None, AfterValidator(_reachable)] = Field(
        default=None, description="URL the cluster clones; default: the remote's URL"
    )
    gpus: int | None = Field(
        default=None, ge=0, description="GPUs per pod; default: 1 with a CUDA or ROCm accelerator"
    )
    gpu_resource: QualifiedName | None = Field(
        default=None, description="default: nvidia.com/gpu (CUDA), amd.com/gpu (ROCm)"
    )
    run_as_user: int = Field(default=1000, ge=1, description="the pods' user id (never root)")
    run_as_group: int = Field(default=1000, ge=0)
    requests: Amounts = Amounts(cpu="2", memory="8Gi")
    limits: Amounts = Amounts(memory="16Gi")
    shm_size: Quantity = Field(default="2Gi", description="/dev/shm for DataLoader workers")
    node_selector: dict[QualifiedName, LabelValue] = Field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    service_account: DnsSubdomain | None = None
    image_pull_secrets: tuple[DnsSubdomain, ...] = ()
    secrets: tuple[SecretRef, ...] = ()
    git_credentials: GitCredentials | None = None
    backoff_limit: int = Field(default=0, ge=0)
    ttl_seconds_after_finished: int | None = Field(default=86400, ge=0)
    active_deadline_seconds: int | None = Field(default=None, ge=1)
    push_results: bool = Field(
        default=True, description="push metrics and run notes back to the remote when done"
    )
    train: TrainSettings = TrainSettings()
    quotas: QuotaSettings = QuotaSettings()

    @model_validator(mode="before")
    @classmethod
    def _teams_moved(cls, data: object) -> object:
        # The quotas once had their own table here; say where they went rather than "unknown key".
        if isinstance(data, dict) and "teams" in data:
            raise ValueError(
                "`teams` is no longer read: team quotas come from [tool.torchlane.team] (members "
                "and groups: gpus, memory, cpus), namespace prefix and LimitRange defaults from "
                "[tool.torchlane.cluster.quotas]; see docs/scaling.md"
            )
        return data

    @model_validator(mode="after")
    def _unique(self) -> ClusterConfig:
        envs = [s.env for s in self.secrets]
        if len(set(envs)) != len(envs):
            raise ValueError("two secrets set the same environment variable")
        return self

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ClusterConfig:
        # Kubernetes rejects a container whose request is above its limit. Only two amounts
        # the user wrote can contradict each other; a default gives way (see `resources`).
        for key in RESOURCES:
            request, limit = self._stated("requests", key), self._stated("limits", key)
            if request and limit and quantity_value(request) > quantity_value(limit):
                raise PydanticCustomError(
                    "request_above_limit",
                    f"requests.{key} {request} is above limits.{key} {limit}, which Kubernetes "
                    f"rejects: raise limits.{key} to at least {request} or lower the request",
                )
        return self

    def _stated(self, table: Literal["requests", "limits"], key: str) -> str | None:
        amounts: Amounts = getattr(self, table)
        value: str | None = getattr(amounts, key)
        return value if table in self.model_fields_set else None

    def resources(self) -> tuple[dict[str, str], dict[str, str]]:
        """The main container's requests and limits, a default giving way to a stated amount: a
        stated request above the default limit raises the limit; a stated limit below the
        default request lowers the request (as Kubernetes would default it)."""
        requests, limits = self.requests.as_dict(), self.limits.as_dict()
        for key in RESOURCES:
            request, limit = requests.get(key), limits.get(key)
            if request is None or limit is None:
                continue
            if quantity_value(request) > quantity_value(limit):
                if self._stated("limits", key):
                    requests[key] = limit
                else:
                    limits[key] = request
        return requests, limits

    def gpu_resource_for(self, accelerator: str) -> str:
        if self.gpu_resource is not None:
            return self.gpu_resource
        return "amd.com/gpu" if accelerator.startswith("rocm") else "nvidia.com/gpu"

    def gpus_for(self, accelerator: str) -> int:
        """GPUs per pod: as set, else one with a CUDA or ROCm accelerator (a CUDA job on a node
        without a GPU fails, or worse, runs on the CPU)."""
        if self.gpus is not None:
            return self.gpus
        return 0 if accelerator == "cpu" else 1
