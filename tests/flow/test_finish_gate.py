"""`finish` respects the merge gate (issue 12): a failed verdict, or none where merges are gated,
refuses the merge; `--skip-gate REASON` merges anyway and says so in the merge commit."""

from __future__ import annotations

from tests.conftest import Project, commit_file
from tests.metrics.scenario import GATE_CONFIG, build

BRANCH = "feature/wider-layers"


def _configured(project: Project, config: str = GATE_CONFIG) -> None:
    project.git.run("checkout", "--quiet", "develop")
    text = (project.root / ".torchlane.toml").read_text(encoding="utf-8") + config
    commit_file(project.git, ".torchlane.toml", text, "Gate rules")


def test_a_branch_the_gate_fails_is_not_finished(project: Project, cli) -> None:
    _configured(project)
    scenario = build(project, set(range(300)), config="")  # 5 points worse on 2000 examples
    develop = project.git.out("rev-parse", "develop")
    result = cli(["finish", "-C", str(project.root)])
    assert result.code == 1
    assert f"'{BRANCH}' failed the merge gate at {scenario.candidate[:12]}" in result.err
    assert "accuracy 0.9 -> 0.85" in result.err
    assert "torchlane eval" in result.err
    assert f'torchlane finish {BRANCH} --skip-gate "REASON"' in result.err
    assert project.git.out("rev-parse", "develop") == develop  # nothing merged
    assert project.git.branch_exists(BRANCH)


def test_skip_gate_finishes_and_writes_the_reason_into_the_merge(project: Project, cli) -> None:
    _configured(project)
    build(project, set(range(300)), config="")
    reason = "accepted: new tokenizer, see #42"
    result = cli(["finish", "-C", str(project.root), "--skip-gate", reason])
    assert result.code == 0, result.err
    message = project.git.run("log", "-1", "--format=%B", "develop").stdout
    assert message.startswith(f"Merge {BRANCH} into develop\n\nGate skipped (fail: accuracy")
    assert reason in message
    assert "written into the merge commit" in result.err
    assert cli(["finish", "-C", str(project.root), "--skip-gate", " "]).code == 2


def test_a_passing_branch_finishes_without_a_word_about_the_gate(project: Project, cli) -> None:
    _configured(project)
    build(project, set(range(200)), config="")  # the same errors as develop
    result = cli(["finish", "-C", str(project.root)])
    assert result.code == 0, result.err
    assert "Gate" not in project.git.run("log", "-1", "--format=%B", "develop").stdout


def test_no_verdict_is_refused_only_where_the_project_gates_merges(project: Project, cli) -> None:
    git = project.git
    git.run("checkout", "--quiet", "-b", "feature/no-records", "develop")
    commit_file(git, "model.py", "untested")
    assert cli(["finish", "-C", str(project.root), "--keep"]).code == 0  # no eval, no rules
    git.run("reset", "--quiet", "--hard", "HEAD~1")  # undo the merge on develop

    _configured(project, '\n[eval]\nmodel = "model:build"\ndata = "model:loader"\n')
    git.run("checkout", "--quiet", "feature/no-records")
    git.run("rebase", "--quiet", "develop")  # the branch now declares how the model is evaluated
    refused = cli(["finish", "-C", str(project.root)])
    assert refused.code == 1
    assert "'feature/no-records' has no gate verdict (candidate without records" in refused.err
    assert "torchlane eval feature/no-records" in refused.err
    assert "--skip-gate" in refused.err
