"""Resolve `[tool.torchlane.team]` into quotas (one per member or group) and seats (one container
per member), refusing what cannot be shared soundly.

`TeamPlan.quotas` is the reusable part: each quota's GPUs, memory and CPUs are what one holder
may use on the server, and what a cluster namespace quota for the same holder should allow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from torchlane.errors import TorchlaneError
from torchlane.team.settings import (
    GroupSettings,
    MemberSettings,
    TeamConfig,
    format_memory,
    memory_bytes,
)

if TYPE_CHECKING:
    from torchlane.config.load import LoadedConfig

_QUOTA_KEYS = ("gpus", "memory", "shm_size", "cpus")
_MIN_MEMORY = 6 * 1024 * 1024  # docker refuses a smaller memory limit


@dataclass(frozen=True, kw_only=True)
class Quota:
    """What one member (alone) or one group (together) may use."""

    name: str
    kind: Literal["member", "group"]
    members: tuple[str, ...]
    gpus: tuple[int, ...]  # NVML device indices; counts are already resolved
    memory: str  # a group's total, e.g. "128g"
    memory_bytes: int
    cpus: float  # a group's total
    shm_size: str  # per container

    @property
    def memory_quantity(self) -> str:
        """The memory as a Kubernetes quantity ("64Gi"), for a namespace quota."""
        mib = self.memory_bytes // 1024**2
        return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


@dataclass(frozen=True, kw_only=True)
class Seat:
    """One member's container: their quota's GPUs and their share of its memory and CPUs."""

    member: str
    user: str
    quota: str
    gpus: tuple[int, ...]
    memory: str
    cpus: float
    shm_size: str
    jupyter_port: int
    tensorboard_port: int
    workdir: str | None  # None: /home/<user>/<project>
    run_as: str | None  # "uid:gid" for compose's `user:`; None: the image's user
    token_variable: str  # the environment variable holding this member's Jupyter token


@dataclass
class TeamPlan:
    server_gpus: int | None
    shared_gpus: str
    quotas: list[Quota] = field(default_factory=list)
    seats: list[Seat] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def seat_of_user(self, user: str) -> Seat | None:
        return next((s for s in self.seats if s.user == user), None)


class _Where:
    """Names a key the way the user wrote it: `pyproject.toml: [tool.torchlane.team.members.bob] gpus`."""

    def __init__(self, source: str, table: str):
        self.source = source
        self.table = ".".join(filter(None, [table, "team"]))

    def __call__(self, kind: str, name: str, key: str) -> str:
        return f"[{self.table}.{kind}.{name}] {key}"

    def error(self, message: str, hint: str) -> TorchlaneError:
        return TorchlaneError(f"{self.source}: {message}", hint)


def token_variable(member: str) -> str:
    return "JUPYTER_TOKEN_" + re.sub(r"[^A-Z0-9]", "_", member.upper())


def _groups_of_members(team: TeamConfig, where: _Where) -> dict[str, str]:
    group_of: dict[str, str] = {}
    for group, settings in team.groups.items():
        for member in settings.members:
            key = where("groups", group, "members")
            if member not in team.members:
                raise where.error(
                    f"{key}: {member!r} is not declared.",
                    f"Add [{where.table}.members.{member}] with its jupyter_port and tensorboard_port.",
                )
            if member in group_of:
                raise where.error(
                    f"{key}: {member!r} is already in group {group_of[member]!r}.",
                    "A member belongs to at most one group (one quota per person).",
                )
            own = sorted(set(_QUOTA_KEYS) & team.members[member].model_fields_set)
            if own:
                raise where.error(
                    f"{where('members', member, own[0])}: {member!r} is in group {group!r}, "
                    "whose quota applies.",
                    f"Remove {', '.join(own)} from the member, or take them out of the group.",
                )
            group_of[member] = group
    return group_of


def _explicit_gpus(
    holders: dict[tuple[str, str], MemberSettings | GroupSettings],
    team: TeamConfig,
    where: _Where,
    warnings: list[str],
) -> dict[tuple[str, str], tuple[int, ...]]:
    owner: dict[int, tuple[str, str]] = {}
    explicit: dict[tuple[str, str], tuple[int, ...]] = {}
    for (kind, name), settings in holders.items():
        if isinstance(settings.gpus, int):
            continue
        key = where(kind, name, "gpus")
        if len(set(settings.gpus)) != len(settings.gpus):
            raise where.error(f"{key}: a GPU is listed twice.", "List each device index once.")
        for index in settings.gpus:
            if team.server_gpus is not None and index >= team.server_gpus:
                raise where.error(
                    f"{key}: GPU {index} does not exist on a server with server_gpus = "
                    f"{team.server_gpus} (indices 0..{team.server_gpus - 1}).",
                    "Use device indices as `nvidia-smi` numbers them, or fix server_gpus.",
                )
            if index in owner:
                other = where(*owner[index], "gpus")
                message = f"{key}: GPU {index} is also assigned by {other}."
                if team.shared_gpus == "refuse":
                    raise where.error(
                        message,
                        "Give each member or group its own GPUs, put the members in one group, "
                        f'or set shared_gpus = "warn" in [{where.table}].',
                    )
                warnings.append(message.replace(f"{key}: ", f"{key}: shared: "))
            owner.setdefault(index, (kind, name))
        explicit[(kind, name)] = tuple(sorted(settings.gpus))
    return explicit


def _resolve_counts(
    holders: dict[tuple[str, str], MemberSettings | GroupSettings],
    explicit: dict[tuple[str, str], tuple[int, ...]],
    team: TeamConfig,
    where: _Where,
) -> dict[tuple[str, str], tuple[int, ...]]:
    taken = {index for indices in explicit.values() for index in indices}
    free = [i for i in range(team.server_gpus or 0) if i not in taken]
    resolved = dict(explicit)
    # Sorted by name, so that reordering the file does not move anyone's GPUs.
    for kind, name in sorted(k for k, s in holders.items() if isinstance(s.gpus, int)):
        count = holders[(kind, name)].gpus
        assert isinstance(count, int)
        key = where(kind, name, "gpus")
        if count and team.server_gpus is None:
            raise where.error(
                f"{key}: a GPU count needs the server's size.",
                f"Add server_gpus = N to [{where.table}], or list device indices, e.g. gpus = [0, 1].",
            )
        if count > len(free):
            raise where.error(
                f"{key}: {count} GPU(s) asked, {len(free)} left unassigned of server_gpus = "
                f"{team.server_gpus}.",
                "Lower the count, or free GPUs held by others.",
            )
        resolved[(kind, name)], free = tuple(free[:count]), free[count:]
    return resolved


def _check_ports(team: TeamConfig, where: _Where) -> None:
    seen: dict[int, str] = {}
    for member, settings in team.members.items():
        for key in ("jupyter_port", "tensorboard_port"):
            port: int = getattr(settings, key)
            here = where("members", member, key)
            if port in seen:
                raise where.error(
                    f"{here}: port {port} is also {seen[port]}.",
                    "Each member's ports must differ: they are bound on the same server.",
                )
            seen[port] = here
    users: dict[str, str] = {}
    for member, settings in team.members.items():
        user = settings.user or member
        if user in users:
            raise where.error(
                f"{where('members', member, 'user')}: user {user!r} is also member {users[user]!r}.",
                "One member per Unix user: `torchlane gpus` tells members apart by user.",
            )
        users[user] = member
    variables: dict[str, str] = {}
    for member in team.members:
        variable = token_variable(member)
        if variable in variables:
            raise where.error(
                f"{where('members', member, 'jupyter_port')}: members {variables[variable]!r} and "
                f"{member!r} would share the token variable {variable}.",
                "Rename one of them.",
            )
        variables[variable] = member


def _split(total: float, parts: int) -> float:
    # Rounded down, so that the members' containers never add up to more than the quota.
    return int(total * 100 / parts) / 100


def _run_as(settings: MemberSettings) -> str | None:
    if settings.uid is None:
        return None
    return f"{settings.uid}:{settings.uid if settings.gid is None else settings.gid}"


def resolve_team(
    team: TeamConfig, source: str = "pyproject.toml", table: str = "tool.torchlane"
) -> TeamPlan:
    where = _Where(source, table)
    plan = TeamPlan(team.server_gpus, team.shared_gpus)
    group_of = _groups_of_members(team, where)
    holders: dict[tuple[str, str], MemberSettings | GroupSettings] = {
        ("groups", name): settings for name, settings in team.groups.items()
    }
    holders.update({("members", n): s for n, s in team.members.items() if n not in group_of})
    gpus = _resolve_counts(
        holders, _explicit_gpus(holders, team, where, plan.warnings), team, where
    )
    _check_ports(team, where)
    for (kind, name), settings in holders.items():
        members = settings.members if isinstance(settings, GroupSettings) else (name,)
        plan.quotas.append(
            Quota(name=name, kind="group" if kind == "groups" else "member", members=members, gpus=gpus[(kind, name)],
                  memory=settings.memory, memory_bytes=memory_bytes(settings.memory), cpus=settings.cpus, shm_size=settings.shm_size)
        )  # fmt: skip
    for quota in plan.quotas:
        share = len(quota.members)
        if quota.memory_bytes // share < _MIN_MEMORY or _split(quota.cpus, share) < 0.01:
            kind = "groups" if quota.kind == "group" else "members"
            each = f" split between {share} members" if share > 1 else ""
            raise where.error(
                f"{where(kind, quota.name, 'memory')}: {quota.memory} and {quota.cpus:g} CPU(s)"
                f"{each} leave under {format_memory(_MIN_MEMORY)} or 0.01 CPU per container.",
                "Raise memory and cpus (docker refuses a smaller limit)"
                + (", or split the group." if share > 1 else "."),
            )
    by_name = {q.name if q.kind == "member" else f"group:{q.name}": q for q in plan.quotas}
    for member, settings in team.members.items():
        quota = by_name[f"group:{group_of[member]}" if member in group_of else member]
        share = len(quota.members)
        plan.seats.append(
            Seat(member=member, user=settings.user or member, quota=quota.name, gpus=quota.gpus,
                 memory=format_memory(quota.memory_bytes // share), cpus=_split(quota.cpus, share),
                 shm_size=quota.shm_size, jupyter_port=settings.jupyter_port, tensorboard_port=settings.tensorboard_port,
                 workdir=settings.workdir, run_as=_run_as(settings), token_variable=token_variable(member))
        )  # fmt: skip
    return plan


def team_plan(loaded: LoadedConfig) -> TeamPlan | None:
    """The resolved team of a loaded configuration, or None when it declares none."""
    team = loaded.config.team
    if not team.declared:
        return None
    source = loaded.path.name if loaded.path else "pyproject.toml"
    return resolve_team(team, source, loaded.table)
