"""`[tool.torchlane.team]` and `env generate --shared`: compose files per member, validated
against the compose-spec schema; every unsound table refused with the file and the key."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.env.conftest import Repo
from tests.env.test_generate import tool
from torchlane.errors import TorchlaneError
from torchlane.team.quotas import resolve_team
from torchlane.team.settings import TeamConfig, format_memory, memory_bytes

ENV = '[tool.torchlane.env]\npython = "3.12"\ntorch = "2.13.0"\naccelerator = "cuda13.0"\n'
TEAM = """
[tool.torchlane.team]
server_gpus = 8

[tool.torchlane.team.members.alice]
gpus = [0, 1]
memory = "64g"
shm_size = "16g"
cpus = 8
jupyter_port = 8890
tensorboard_port = 6010
workdir = "/srv/alice/model"
uid = 1001

[tool.torchlane.team.members.bob]
gpus = 2
memory = "512m"
jupyter_port = 8891
tensorboard_port = 6011

[tool.torchlane.team.members.carol]
jupyter_port = 8892
tensorboard_port = 6012

[tool.torchlane.team.members.dave]
user = "dmeyer"
jupyter_port = 8893
tensorboard_port = 6013

[tool.torchlane.team.members.erin]
jupyter_port = 8894
tensorboard_port = 6014

[tool.torchlane.team.groups.vision]
members = ["carol", "dave", "erin"]
gpus = [4, 5]
memory = "128g"
cpus = 16
"""


def validate_shared(root: Path) -> None:
    """Every shared/compose.*.yaml against the compose-spec schema, in one validator run."""
    paths = sorted(str(p) for p in (root / "shared").glob("compose.*.yaml"))
    assert paths
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *paths],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def compose_of(root: Path, member: str) -> dict:  # type: ignore[type-arg]
    path = root / "shared" / f"compose.{member}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_one_valid_compose_file_per_member_with_its_quota(repo: Repo, cli) -> None:
    repo.write("pyproject.toml", ENV + TEAM)
    result = cli(["env", "generate", "--shared", "-C", str(repo.root)])
    assert result.code == 0, result.err
    assert (repo.root / "Dockerfile").is_file()  # the image every member's container builds
    validate_shared(repo.root)
    alice = compose_of(repo.root, "alice")["services"]["alice"]
    assert alice["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert alice["ports"] == ["127.0.0.1:8890:8888", "127.0.0.1:6010:6006"]
    assert alice["shm_size"] == "16g"
    assert alice["user"] == "1001:1001"  # her files keep their owner; `gpus` sees her processes
    assert alice["volumes"] == [
        {"type": "bind", "source": "/srv/alice/model", "target": "/workspace"}
    ]
    assert alice["environment"]["JUPYTER_TOKEN"] == (
        "${JUPYTER_TOKEN_ALICE:?set JUPYTER_TOKEN_ALICE}"
    )
    resources = alice["deploy"]["resources"]
    assert resources["limits"] == {"memory": "64g", "cpus": "8"}
    assert resources["reservations"]["devices"] == [
        {"driver": "nvidia", "device_ids": ["0", "1"], "capabilities": ["gpu"]}
    ]
    # A count becomes the first indices nobody holds: exclusive, unlike compose's `count`.
    bob = compose_of(repo.root, "bob")
    assert bob["name"] == "work-bob"
    devices = bob["services"]["bob"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["device_ids"] == ["2", "3"]
    assert bob["services"]["bob"]["deploy"]["resources"]["limits"]["memory"] == "512m"
    # A group's GPUs are visible to each member; its memory and CPUs are split between them.
    for member in ("carol", "dave", "erin"):
        service = compose_of(repo.root, member)["services"][member]
        assert service["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == [
            "4",
            "5",
        ]
        assert service["deploy"]["resources"]["limits"] == {"memory": "43690m", "cpus": "5.33"}
        assert service["labels"]["org.torchlane.quota"] == "vision"
    dave = compose_of(repo.root, "dave")["services"]["dave"]
    assert dave["volumes"] == [
        {"type": "bind", "source": "/home/dmeyer/work", "target": "/workspace"}
    ]
    assert "user" not in dave  # the image's own user
    # No token is ever written into a file.
    for path in (repo.root / "shared").iterdir():
        text = path.read_text(encoding="utf-8")
        token = yaml.safe_load(text)["services"][path.name.split(".")[1]]["environment"]
        assert token["JUPYTER_TOKEN"].startswith("${JUPYTER_TOKEN_")
    repo.commit()
    code, report = repo.check()
    assert code == 0, report["findings"]
    # Regenerating changes nothing; a hand edit is refused like any generated file's.
    again = cli(["env", "generate", "--shared", "--json", "-C", str(repo.root)])
    assert again.code == 0
    assert '"written": []' in again.out
    bob_file = repo.root / "shared/compose.bob.yaml"
    bob_file.write_text(bob_file.read_text().replace("memory: 512m", "memory: 900g"))
    refused = cli(["env", "generate", "--shared", "-C", str(repo.root)])
    assert refused.code == 1
    assert "shared/compose.bob.yaml changed since torchlane generated it" in refused.err
    assert "memory: 900g" in bob_file.read_text()


def test_a_removed_member_leaves_a_warning_and_shared_needs_a_team(repo: Repo, cli) -> None:
    repo.write("pyproject.toml", ENV + TEAM)
    assert cli(["env", "generate", "--shared", "-C", str(repo.root)]).code == 0
    repo.write("pyproject.toml", ENV + TEAM.replace("gpus = 2\n", "gpus = 0\n"))
    (repo.root / "shared/compose.zoe.yaml").write_text("services: {}\n")
    result = cli(["env", "generate", "--shared", "-C", str(repo.root)])
    assert result.code == 0, result.err
    assert "shared/compose.zoe.yaml belongs to no member any more" in result.err
    (repo.root / "shared/compose.zoe.yaml").unlink()
    validate_shared(repo.root)
    bob = compose_of(repo.root, "bob")["services"]["bob"]
    assert "reservations" not in bob["deploy"]["resources"]
    repo.write("pyproject.toml", ENV)
    result = cli(["env", "generate", "--shared", "-C", str(repo.root)])
    assert result.code == 1
    assert "--shared needs a [tool.torchlane.team] table" in result.err


def _member(name: str, port: int, extra: str = "") -> str:
    return (
        f"[tool.torchlane.team.members.{name}]\n{extra}"
        f"jupyter_port = {port}\ntensorboard_port = {port + 1000}\n"
    )


BAD_TABLES = [
    (
        _member("alice", 8890, "gpus = [0, 1]\n") + _member("bob", 8891, "gpus = [1]\n"),
        "[tool.torchlane.team.members.bob] gpus: GPU 1 is also assigned by "
        "[tool.torchlane.team.members.alice] gpus",
        'shared_gpus = "warn"',
    ),
    (
        _member("alice", 8890) + _member("bob", 8890),
        "[tool.torchlane.team.members.bob] jupyter_port: port 8890 is also "
        "[tool.torchlane.team.members.alice] jupyter_port",
        "must differ",
    ),
    (
        _member("alice", 8890, 'memory = "64x"\n'),
        "[tool.torchlane.team.members.alice] memory",
        "README",
    ),
    (
        "[tool.torchlane.team]\nserver_gpus = 4\n" + _member("alice", 8890, "gpus = [3, 4]\n"),
        "GPU 4 does not exist on a server with server_gpus = 4",
        "nvidia-smi",
    ),
    (
        _member("alice", 8890, "gpus = 2\n"),
        "[tool.torchlane.team.members.alice] gpus: a GPU count needs the server's size",
        "server_gpus = N",
    ),
    (
        "[tool.torchlane.team]\nserver_gpus = 2\n"
        + _member("alice", 8890, "gpus = [0]\n")
        + _member("bob", 8891, "gpus = 2\n"),
        "2 GPU(s) asked, 1 left unassigned of server_gpus = 2",
        "Lower the count",
    ),
    (
        _member("alice", 8890)
        + '[tool.torchlane.team.groups.a]\nmembers = ["alice"]\n'
        + '[tool.torchlane.team.groups.b]\nmembers = ["alice"]\n',
        "[tool.torchlane.team.groups.b] members: 'alice' is already in group 'a'",
        "at most one group",
    ),
    (
        _member("alice", 8890, "cpus = 2\n")
        + '[tool.torchlane.team.groups.a]\nmembers = ["alice"]\n',
        "[tool.torchlane.team.members.alice] cpus: 'alice' is in group 'a', whose quota applies",
        "Remove cpus",
    ),
    (
        '[tool.torchlane.team.groups.a]\nmembers = ["ghost"]\n',
        "[tool.torchlane.team.groups.a] members: 'ghost' is not declared",
        "[tool.torchlane.team.members.ghost]",
    ),
    (
        _member("Alice", 8890),
        "[tool.torchlane.team] members",
        "README",
    ),
    (
        _member("alice", 8890) + _member("bob", 8891, 'user = "alice"\n'),
        "[tool.torchlane.team.members.bob] user: user 'alice' is also member 'alice'",
        "One member per Unix user",
    ),
    (
        _member("alice", 8890, 'memory = "4m"\n'),
        "[tool.torchlane.team.members.alice] memory: 4m and 4 CPU(s) leave under 6m",
        "docker refuses a smaller limit",
    ),
    (
        _member("alice", 8890, "gpus = [2, 2]\n"),
        "[tool.torchlane.team.members.alice] gpus: a GPU is listed twice",
        "once",
    ),
]


@pytest.mark.parametrize(("table", "message", "hint"), BAD_TABLES)
def test_unsound_tables_are_refused_naming_file_and_key(
    repo: Repo, cli, table: str, message: str, hint: str
) -> None:
    repo.write("pyproject.toml", ENV + table)
    result = cli(["env", "generate", "--shared", "-C", str(repo.root)])
    assert result.code == 1, result.out
    assert result.err.startswith("error: pyproject.toml: "), result.err
    assert message in result.err
    assert hint in result.err
    assert not (repo.root / "shared").exists()
    assert not (repo.root / "Dockerfile").exists()


def test_shared_gpus_warn_allows_an_overlap_and_says_so(repo: Repo, cli) -> None:
    table = (
        '[tool.torchlane.team]\nshared_gpus = "warn"\n'
        + _member("alice", 8890, "gpus = [0, 1]\n")
        + _member("bob", 8891, "gpus = [1]\n")
    )
    repo.write("pyproject.toml", ENV + table)
    result = cli(["env", "generate", "--shared", "-C", str(repo.root)])
    assert result.code == 0, result.err
    assert (
        "shared: GPU 1 is also assigned by [tool.torchlane.team.members.alice] gpus" in result.err
    )
    bob = compose_of(repo.root, "bob")["services"]["bob"]
    assert bob["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == ["1"]


def test_counts_do_not_move_when_the_file_is_reordered() -> None:
    def plan(order: list[str]) -> dict[str, tuple[int, ...]]:
        members = {
            name: {"gpus": 1, "jupyter_port": 9000 + i, "tensorboard_port": 7000 + i}
            for i, name in enumerate(order)
        }
        team = TeamConfig.model_validate({"server_gpus": 3, "members": members})
        return {q.name: q.gpus for q in resolve_team(team).quotas}

    assert plan(["zed", "amy", "kim"]) == plan(["amy", "kim", "zed"])
    assert plan(["zed", "amy", "kim"]) == {"amy": (0,), "kim": (1,), "zed": (2,)}


def test_quotas_are_what_a_cluster_reads() -> None:
    team = TeamConfig.model_validate(
        {
            "members": {
                "ann": {"jupyter_port": 9000, "tensorboard_port": 9001},
                "ben": {"jupyter_port": 9002, "tensorboard_port": 9003, "gpus": [1]},
            },
            "groups": {"nlp": {"members": ["ann"], "gpus": [0], "memory": "1t", "cpus": 3}},
        }
    )
    quotas = {q.name: q for q in resolve_team(team).quotas}
    assert quotas["nlp"].kind == "group"
    assert quotas["nlp"].members == ("ann",)
    assert quotas["nlp"].memory_bytes == 1024**4
    assert quotas["nlp"].memory_quantity == "1024Gi"
    assert quotas["ben"].gpus == (1,)
    assert quotas["ben"].memory == "32g"  # the member default
    assert quotas["ben"].memory_quantity == "32Gi"
    with pytest.raises(TorchlaneError, match=r"\.torchlane\.toml: \[team\.members\.ben\] gpus"):
        resolve_team(team.model_copy(update={"server_gpus": 1}), source=".torchlane.toml", table="")


SIZES = st.integers(min_value=1, max_value=10**6)


@given(
    SIZES,
    st.sampled_from(["k", "m", "g", "t", "K", "M", "G", "T"]),
    st.sampled_from(["", "b", "iB"]),
)
def test_memory_strings_are_read_in_binary_units(number: int, unit: str, suffix: str) -> None:
    scale = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}[unit.lower()]
    assert memory_bytes(f"{number}{unit}{suffix}") == number * scale
    assert memory_bytes(format_memory(number * 1024**2)) == number * 1024**2


@given(st.text(max_size=8))
def test_anything_else_is_refused(text: str) -> None:
    if re.fullmatch(r"\s*0*[1-9]\d*\s*[kmgtKMGT]([iI]?[bB])?\s*", text, re.ASCII):
        assert memory_bytes(text) > 0
    else:
        with pytest.raises(ValueError, match=re.escape("e.g. '64g'")):
            memory_bytes(text)


@given(st.integers(min_value=1, max_value=64), st.integers(min_value=1, max_value=2**20))
def test_a_groups_split_never_exceeds_its_quota(members: int, total_mib: int) -> None:
    names = [f"m{i}" for i in range(members)]
    team = TeamConfig.model_validate(
        {
            "members": {
                n: {"jupyter_port": 10000 + i, "tensorboard_port": 20000 + i}
                for i, n in enumerate(names)
            },
            "groups": {"g": {"members": names, "memory": f"{total_mib}m", "cpus": 7}},
        }
    )
    if total_mib < 6 * members:  # under docker's minimum of 6m each
        with pytest.raises(TorchlaneError, match="leave under 6m"):
            resolve_team(team)
        return
    seats = resolve_team(team).seats
    assert sum(memory_bytes(s.memory) for s in seats) <= total_mib * 1024**2
    assert sum(round(s.cpus * 100) for s in seats) <= 700
    assert all(s.gpus == () for s in seats)
