from __future__ import annotations

from tests.documented import config_keys, documented_keys
from torchlane.ci.settings import CiSettings


def test_every_ci_key_is_documented_and_nothing_else() -> None:
    documented = documented_keys("ci.md", "### Every key of `[tool.torchlane.ci]`")
    assert set(config_keys(CiSettings)) == documented
