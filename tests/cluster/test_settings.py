from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.cluster.conftest import DATA
from tests.documented import config_keys, documented_keys
from torchlane.cluster.quotas import cpu_quantity
from torchlane.cluster.settings import QUANTITY, ClusterConfig
from torchlane.config.load import load_config
from torchlane.errors import TorchlaneError
from torchlane.team.quotas import resolve_team


def _crd_quantity_pattern() -> str:
    """Kubernetes' own Quantity pattern, as the training operator's CRD publishes it."""
    crd = yaml.safe_load_all((DATA / "kubeflow.org_pytorchjobs.yaml").read_text())
    schema = next(iter(crd))["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    policy = schema["properties"]["spec"]["properties"]["runPolicy"]["properties"]
    pattern: str = policy["schedulingPolicy"]["properties"]["minResources"]["additionalProperties"][
        "pattern"
    ]
    return pattern.removeprefix("^").removesuffix("$")


KUBERNETES_QUANTITY = re.compile(_crd_quantity_pattern())


@given(st.from_regex(KUBERNETES_QUANTITY, fullmatch=True))
def test_every_unsigned_kubernetes_quantity_is_accepted(text: str) -> None:
    assert bool(QUANTITY.fullmatch(text)) == (text[:1] not in ("+", "-"))


@given(st.text(alphabet="0123456789.eEKMGTPimnuk+- i", max_size=8))
def test_nothing_else_is_accepted(text: str) -> None:
    expected = bool(KUBERNETES_QUANTITY.fullmatch(text)) and text[:1] not in ("+", "-")
    assert bool(QUANTITY.fullmatch(text)) == expected


def _load(tmp_path: Path, body: str) -> object:
    (tmp_path / "pyproject.toml").write_text(body)
    return load_config(tmp_path).config


def test_numbers_are_quantities(tmp_path: Path) -> None:
    config = _load(tmp_path, "[tool.torchlane.cluster.requests]\ncpu = 4\nmemory = '16Gi'\n")
    assert config.cluster.requests.as_dict() == {"cpu": "4", "memory": "16Gi"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.torchlane.cluster.requests]\ncpu = '4 cores'\n",
         "[tool.torchlane.cluster.requests] cpu: Value error, not a valid Kubernetes quantity"),
        ("[tool.torchlane.cluster]\nnamespace = 'Team_A'\n", "namespace: Value error, not a valid DNS label"),
        ("[tool.torchlane.cluster]\ngpu = 1\n", "[tool.torchlane.cluster] gpu: unknown key"),
        ("[tool.torchlane.cluster.train.elastic]\nmin_replicas = 4\nmax_replicas = 2\n",
         "min_replicas must not exceed max_replicas"),
        ("[tool.torchlane.cluster.train]\nworkers = 1\nelastic = {min_replicas = 2}\n",
         "`workers` between min_replicas and max_replicas"),
        ("[tool.torchlane.cluster]\ntolerations = [{key = 'a', operator = 'Exists', value = 'b'}]\n",
         "operator 'Exists' takes no value"),
        ("[tool.torchlane.cluster]\nsecrets = [{name = 'w', key = 'k', env = '1X'}]\n",
         "not a valid environment variable name"),
        ("[[tool.torchlane.cluster.teams]]\nname = 'a'\n",
         "`teams` is no longer read: team quotas come from [tool.torchlane.team]"),
        ("[tool.torchlane.cluster.quotas]\nnamespace_prefix = 'Team_'\n",
         "namespace_prefix: Value error, not a valid namespace prefix"),
        ("[tool.torchlane.cluster.train]\nnproc_per_node = 'many'\n", "nproc_per_node"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(TorchlaneError) as caught:
        _load(tmp_path, body)
    assert message in caught.value.message
    assert caught.value.message.startswith("pyproject.toml: ")


def test_unknown_key_lists_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(TorchlaneError) as caught:
        _load(tmp_path, "[tool.torchlane.cluster.git_credentials]\nname = 'g'\ntoken = 'x'\n")
    assert caught.value.hint is not None
    assert "Allowed keys here: key, kind, name." in caught.value.hint


def test_the_documented_configuration_loads(tmp_path: Path) -> None:
    docs = Path(__file__).parents[2] / "docs" / "scaling.md"
    blocks = re.findall(r"```toml\n(.*?)```", docs.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 3
    loaded = _load(tmp_path, "\n".join(blocks))
    config = loaded.cluster  # type: ignore[attr-defined]
    assert config.train.elastic.min_replicas == 2
    assert config.quotas.namespace_prefix == "team-"
    plan = resolve_team(loaded.team)  # type: ignore[attr-defined]
    assert {quota.name: quota.gpus for quota in plan.quotas} == {
        "nlp": (2, 3, 4, 5),
        "alice": (0, 1),
    }


@given(st.floats(min_value=0.0001, max_value=1024, allow_nan=False))
def test_cpus_become_the_nearest_millicore_quantity(cpus: float) -> None:
    quantity = cpu_quantity(cpus)
    assert KUBERNETES_QUANTITY.fullmatch(quantity)
    millis = int(quantity[:-1]) if quantity.endswith("m") else int(quantity) * 1000
    assert millis == max(round(cpus * 1000), 1)
    assert not quantity.endswith("000m")  # whole CPUs are written as a number


def test_every_cluster_key_is_documented_and_nothing_else() -> None:
    heading = "#### Every key of `[tool.torchlane.cluster]`"
    # Besides the leaves, the table names the lists of tables themselves.
    documented = documented_keys("scaling.md", heading) - {"tolerations", "secrets"}
    assert set(config_keys(ClusterConfig)) == documented
