from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tests.ci.conftest import configure_stages, stage
from tests.conftest import Project, commit_file
from torchlane.ci.pipeline import run_ci
from torchlane.ci.runner import StageStatus
from torchlane.project import open_project

# Each side creates its marker and then waits for the other's: both pass only if they run at
# the same time, so this proves the stages ran in parallel without measuring time.
_RENDEZVOUS = (
    "import pathlib, time, sys\n"
    "pathlib.Path('{mine}').touch()\n"
    "deadline = time.time() + 60\n"
    "while not pathlib.Path('{other}').exists():\n"
    "    if time.time() > deadline: sys.exit('the other stage never ran alongside')\n"
    "    time.sleep(0.05)\n"
)


def _statuses(project: Project, **kwargs: object) -> dict[str, StageStatus]:
    result, _ = run_ci(open_project(project.root), **kwargs)  # type: ignore[arg-type]
    return {s.name: s.status for s in result.stages}


def test_independent_stages_run_in_parallel(ci_project: Project, tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    configure_stages(
        ci_project,
        {
            "left": stage(_RENDEZVOUS.format(mine=a, other=b)),
            "right": stage(_RENDEZVOUS.format(mine=b, other=a)),
        },
    )
    assert _statuses(ci_project, jobs=2) == {
        "left": StageStatus.PASSED,
        "right": StageStatus.PASSED,
    }


def test_the_head_of_the_longest_chain_starts_first(ci_project: Project, tmp_path) -> None:
    log = tmp_path / "started"

    def logged(name: str, **extra: object) -> dict[str, object]:
        return stage(f"open({str(log)!r}, 'a').write({name!r} + ' ')", **extra)

    configure_stages(
        ci_project,
        {
            "quick": logged("quick"),
            "train": logged("train"),
            "score": logged("score", needs=["train"]),
        },
    )
    # One worker: the configured order would start `quick` first and delay the chain behind it.
    assert set(_statuses(ci_project, jobs=1).values()) == {StageStatus.PASSED}
    assert log.read_text().split() == ["train", "quick", "score"]


def test_evaluation_runs_alongside_the_tests_and_a_failed_gate_still_gets_its_report() -> None:
    from torchlane.ci.stages import pipeline_stages
    from torchlane.config.settings import TorchlaneConfig

    stages = {s.name: s for s in pipeline_stages(TorchlaneConfig(), "topic")}
    assert stages["evaluate"].needs == ()
    assert stages["gate"].needs == ("tests", "evaluate")
    assert stages["report"].needs == ("evaluate",)


def test_parallel_stages_share_the_cores_unless_the_user_chose(
    ci_project: Project, monkeypatch
) -> None:
    import os

    configure_stages(
        ci_project, {"threads": stage("import os; print(os.environ['OMP_NUM_THREADS'])")}
    )
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    result, _ = run_ci(open_project(ci_project.root), jobs=2, use_cache=False)
    assert result.stages[0].output.strip() == str(max(1, (os.cpu_count() or 1) // 2))
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    result, _ = run_ci(open_project(ci_project.root), jobs=2, use_cache=False)
    assert result.stages[0].output.strip() == "7"


def test_failure_is_captured_and_blocks_what_needs_it(ci_project: Project) -> None:
    configure_stages(
        ci_project,
        {
            "build": stage("print('compiling'); raise SystemExit(3)"),
            "package": stage("print('never')", needs=["build"]),
            "docs": stage("print('docs ok')", required=False),
        },
    )
    result, artifacts = run_ci(open_project(ci_project.root), jobs=2)
    by_name = {s.name: s for s in result.stages}
    assert not result.passed
    assert by_name["build"].status is StageStatus.FAILED
    assert by_name["build"].exit_code == 3
    assert "compiling" in by_name["build"].output
    assert by_name["package"].status is StageStatus.BLOCKED
    assert "build" in by_name["package"].reason
    assert by_name["docs"].status is StageStatus.PASSED
    junit = ET.parse(artifacts[0]).getroot()
    assert junit.get("failures") == "1"
    assert junit.get("skipped") == "1"
    failure = junit.find("./testcase[@name='build']/failure")
    assert failure is not None
    assert "compiling" in (failure.text or "")
    summary = artifacts[1].read_text()
    assert "torchlane ci: failed" in summary
    assert "| build | FAILED |" in summary


def test_an_optional_failure_does_not_fail_the_pipeline(ci_project: Project) -> None:
    configure_stages(ci_project, {"docs": stage("raise SystemExit(1)", required=False)})
    result, _ = run_ci(open_project(ci_project.root))
    assert result.passed


def test_unchanged_inputs_skip_green_stages_only(ci_project: Project) -> None:
    configure_stages(
        ci_project,
        {
            "lint": stage("print('lint')", inputs=["*.py"]),
            "flaky": stage(
                "import pathlib,sys; sys.exit(0 if pathlib.Path('ok').exists() else 1)",
                inputs=["*.txt"],
            ),
        },
    )
    commit_file(ci_project.git, "model.py", "x = 1\n")
    first = _statuses(ci_project)
    assert first == {"lint": StageStatus.PASSED, "flaky": StageStatus.FAILED}
    second = _statuses(ci_project)
    assert second == {"lint": StageStatus.CACHED, "flaky": StageStatus.FAILED}
    (ci_project.root / "model.py").write_text("x = 2\n")  # an uncommitted change counts
    assert _statuses(ci_project)["lint"] is StageStatus.PASSED
    (ci_project.root / "notes.txt").write_text("untracked inputs count too\n")
    (ci_project.root / "ok").touch()
    assert _statuses(ci_project) == {"lint": StageStatus.CACHED, "flaky": StageStatus.PASSED}
    assert _statuses(ci_project, use_cache=False) == {
        "lint": StageStatus.PASSED,
        "flaky": StageStatus.PASSED,
    }


def test_ref_keyed_stage_reruns_when_refs_move(ci_project: Project) -> None:
    configure_stages(ci_project, {"verify": {"command": "true", "contexts": ["topic"]}})
    assert _statuses(ci_project)["verify"] is StageStatus.PASSED
    assert _statuses(ci_project)["verify"] is StageStatus.CACHED
    ci_project.git.run("tag", "unrelated-tag")
    assert _statuses(ci_project)["verify"] is StageStatus.PASSED


def test_a_cycle_in_needs_is_reported(ci_project: Project, cli) -> None:
    configure_stages(ci_project, {"a": stage("pass", needs=["b"]), "b": stage("pass", needs=["a"])})
    result = cli(["ci"], cwd=ci_project.root)
    assert result.code == 1
    assert "cycle" in result.err


def test_cli_exit_code_json_and_missing_command(ci_project: Project, cli) -> None:
    configure_stages(
        ci_project,
        {"ok": stage("print('fine')"), "missing": {"command": "no-such-program-xyz --flag"}},
    )
    result = cli(["ci", "--json"], cwd=ci_project.root)
    assert result.code == 1
    data = json.loads(result.out)
    assert data["passed"] is False
    stages = {s["name"]: s for s in data["result"]["stages"]}
    assert stages["ok"]["status"] == "passed"
    assert stages["missing"]["exit_code"] == 127
    assert "command not found" in stages["missing"]["output"]


def test_cli_table_shows_failed_output(ci_project: Project, cli) -> None:
    configure_stages(ci_project, {"boom": stage("print('the reason'); raise SystemExit(2)")})
    result = cli(["ci", "--stage", "boom"], cwd=ci_project.root)
    assert result.code == 1
    assert "the reason" in result.err
    assert "Pipeline failed" in result.out


def test_evaluate_reruns_for_a_new_commit_with_the_same_files(ci_project: Project) -> None:
    # evaluate records metrics for the checked-out commit: a new commit needs its own record
    configure_stages(ci_project, {"evaluate": stage("print('evaluated')", contexts=["topic"])})
    assert _statuses(ci_project)["evaluate"] is StageStatus.PASSED
    assert _statuses(ci_project)["evaluate"] is StageStatus.CACHED
    ci_project.git.run("commit", "--quiet", "--allow-empty", "-m", "Same files, new commit")
    assert _statuses(ci_project)["evaluate"] is StageStatus.PASSED


def test_the_pipelines_own_artifacts_are_not_inputs(ci_project: Project) -> None:
    (ci_project.root / ".gitignore").unlink()  # artifacts not ignored: still not inputs
    ci_project.git.run("commit", "--quiet", "-am", "Stop ignoring CI artifacts")
    configure_stages(ci_project, {"secrets": stage("print('scanned')")})
    assert _statuses(ci_project)["secrets"] is StageStatus.PASSED
    assert (ci_project.root / "ci-artifacts" / "torchlane-ci.xml").is_file()
    assert _statuses(ci_project)["secrets"] is StageStatus.CACHED


def test_a_disabled_stage_is_dropped_from_what_needs_it(ci_project: Project) -> None:
    configure_stages(ci_project, {"evaluate": stage("print('evaluated')", contexts=["topic"])})
    # configure_stages disabled `tests`, which evaluate needs by default
    assert _statuses(ci_project) == {"evaluate": StageStatus.PASSED}


def test_an_unknown_stage_is_a_usage_error(ci_project: Project, cli) -> None:
    result = cli(["ci", "--stage", "no-such-stage"], cwd=ci_project.root)
    assert result.code == 2
    assert "No stage named no-such-stage" in result.err


def test_a_stage_whose_tool_is_missing_names_it_and_where_to_add_it(
    ci_project: Project, cli
) -> None:
    import sys

    configure_stages(
        ci_project,
        {
            "lint": {"command": f"{sys.executable} -m torchlane_missing_linter check ."},
            "tests": {"command": "torchlane-missing-runner -q"},
            "broken": stage("import torchlane_missing_dependency"),
        },
    )
    result = cli(["ci", "--no-cache"], cwd=ci_project.root)
    assert result.code == 1
    assert "torchlane_missing_linter is not installed in this environment" in result.err
    assert "torchlane-missing-runner is not installed" in result.err
    assert "install_extras" in result.err
    # A stage that fails on an import inside its own code is a failure, not a missing tool.
    assert "torchlane_missing_dependency is not installed" not in result.err
