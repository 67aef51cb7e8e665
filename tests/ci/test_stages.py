from __future__ import annotations

import pytest

from torchlane.ci.stages import context_for_branch, pipeline_stages
from torchlane.config.settings import TorchlaneConfig
from torchlane.errors import TorchlaneError


def _config(stages: dict[str, object] | None = None) -> TorchlaneConfig:
    return TorchlaneConfig.model_validate({"ci": {"stages": stages or {}}})


@pytest.mark.parametrize(
    ("branch", "context"),
    [
        ("feature/add-mixup", "topic"),
        ("bugfix/loader-seed", "topic"),
        ("refactor/split-trainer", "topic"),
        ("develop", "develop"),
        ("main", "main"),
        ("release/v1.2.0", "release"),
        ("hotfix/v1.2.1", "release"),
        (None, "topic"),
    ],
)
def test_context_follows_the_branch_type(branch: str | None, context: str) -> None:
    assert context_for_branch(branch, TorchlaneConfig()) == context


def test_topic_branches_get_checks_evaluation_and_gate() -> None:
    names = [s.name for s in pipeline_stages(TorchlaneConfig(), "topic")]
    assert names == ["lint", "tests", "notebooks", "secrets", "env", "evaluate", "gate", "report"]


def test_develop_records_metrics_without_a_gate() -> None:
    stages = {s.name: s for s in pipeline_stages(TorchlaneConfig(), "develop")}
    assert "evaluate" in stages
    assert "gate" not in stages
    assert "verify" not in stages


def test_release_branches_add_verify() -> None:
    names = [s.name for s in pipeline_stages(TorchlaneConfig(), "release")]
    assert "verify" in names
    assert "gate" in names


def test_main_verifies_and_records_the_release_baseline() -> None:
    assert [s.name for s in pipeline_stages(TorchlaneConfig(), "main")] == ["verify", "evaluate"]


def test_needs_outside_the_selection_are_dropped() -> None:
    stages = {
        s.name: s for s in pipeline_stages(TorchlaneConfig(), "topic", only=("evaluate", "gate"))
    }
    assert stages["evaluate"].needs == ()
    assert stages["gate"].needs == ("evaluate",)


def test_config_disables_overrides_and_adds_stages() -> None:
    config = _config(
        {
            "notebooks": {"enabled": False},
            "tests": {"command": "pytest -x tests/unit", "required": False},
            "typecheck": {"command": "mypy src", "inputs": ["*.py"], "contexts": ["topic"]},
        }
    )
    stages = {s.name: s for s in pipeline_stages(config, "topic")}
    assert "notebooks" not in stages
    assert stages["tests"].command == ("pytest", "-x", "tests/unit")
    assert stages["tests"].required is False
    assert stages["typecheck"].command == ("mypy", "src")
    assert stages["typecheck"].inputs == ("*.py",)


def test_a_new_stage_without_command_is_an_error() -> None:
    with pytest.raises(TorchlaneError, match="without a command"):
        pipeline_stages(_config({"typecheck": {"inputs": ["*.py"]}}), "topic")


def test_unknown_needs_and_unknown_only_are_errors() -> None:
    with pytest.raises(TorchlaneError, match="needs unknown stage"):
        pipeline_stages(_config({"lint": {"needs": ["nothing"]}}), "topic")
    with pytest.raises(TorchlaneError, match="No stage named"):
        pipeline_stages(TorchlaneConfig(), "topic", only=("nothing",))
