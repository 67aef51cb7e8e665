"""`torchlane gate` end to end: real repositories, records in notes, exit codes, JSON."""

from __future__ import annotations

import json

from tests.conftest import commit_file
from tests.metrics.helpers import accuracy_record, correct_pattern
from tests.metrics.scenario import build
from torchlane.metrics.store import DEFAULT_NOTES_REF, append_record


def test_gate_passes_an_equal_model_and_names_its_baseline(project, cli) -> None:
    scenario = build(project, set(range(200)))  # the same errors as develop's last record
    result = cli(["gate", "-C", str(project.root)])
    assert result.code == 0, result.err
    assert f"develop's first-parent commit {scenario.develop[-1][:12]}" in result.out
    assert "the merge-base itself" in result.out
    assert "Gate passed" in result.out


def test_gate_fails_a_credibly_worse_model_with_json(project, cli) -> None:
    scenario = build(project, set(range(300)))  # 100 more errors of 2000: 5 points
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert result.code == 1
    decision = json.loads(result.out)
    assert decision["passed"] is False
    assert decision["outcome"] == "fail"
    assert decision["candidate"] == scenario.candidate
    assert decision["baseline"]["commit"] == scenario.develop[-1]
    accuracy = next(m for m in decision["metrics"] if m["metric"] == "accuracy")
    assert accuracy["verdict"] == "fail"
    assert accuracy["test"] == "mcnemar-exact"
    assert accuracy["interval"][1] < -0.01
    loss = next(m for m in decision["metrics"] if m["metric"] == "loss")
    assert (loss["verdict"], loss["test"]) == ("unpaired", "none")  # no per-example losses


def test_override_baseline(project, cli) -> None:
    scenario = build(project, set(range(215)))
    result = cli(["gate", "--json", "--baseline", scenario.develop[0], "-C", str(project.root)])
    decision = json.loads(result.out)
    assert decision["baseline"]["rule"] == "override"
    assert decision["baseline"]["commit"] == scenario.develop[0]


def test_no_baseline_fails_with_a_hint_unless_allowed(project, cli) -> None:
    git = project.git
    git.run("checkout", "--quiet", "-b", "feature/first-model", "develop")
    commit = commit_file(git, "m.py", "x")
    append_record(git, accuracy_record(commit, correct_pattern(100, {1})))
    result = cli(["gate", "-C", str(project.root)])
    assert result.code == 1
    assert "No baseline" in result.err
    assert "allow_missing_baseline" in result.err
    (project.root / ".torchlane.toml").write_text(
        (project.root / ".torchlane.toml").read_text() + "\n[gate]\nallow_missing_baseline = true\n"
    )
    allowed = cli(["gate", "--json", "-C", str(project.root)])
    assert allowed.code == 0
    assert json.loads(allowed.out)["outcome"] == "no baseline"


def test_baseline_without_records_and_candidate_without_records(project, cli) -> None:
    build(project, set(range(200)))
    result = cli(["gate", "--baseline", "main", "-C", str(project.root)])
    assert result.code == 1
    assert "has no metrics recorded" in result.err
    project.git.run("commit", "--quiet", "--allow-empty", "-m", "not evaluated")
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert result.code == 1
    assert json.loads(result.out)["outcome"] == "candidate without records"


def test_mismatched_evaluation_data_is_an_explicit_failure(project, cli) -> None:
    scenario = build(project, set(range(200)))
    append_record(
        project.git,
        accuracy_record(
            scenario.candidate,
            correct_pattern(2000, set()),
            data="other-data",
            created_at="2026-02-01T00:00:00+00:00",
        ),
    )
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert result.code == 1
    decision = json.loads(result.out)
    assert decision["outcome"] == "mismatched data"
    assert "different data" in decision["messages"][-1]


def test_nan_metric_fails_and_json_stays_valid(project, cli) -> None:
    scenario = build(project, set(range(200)))
    record = accuracy_record(
        scenario.candidate,
        correct_pattern(2000, set(range(200))),
        extra_metrics={"loss": float("nan")},
        created_at="2026-02-01T00:00:00+00:00",
    )
    append_record(project.git, record)
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert result.code == 1
    loss = next(m for m in json.loads(result.out)["metrics"] if m["metric"] == "loss")
    assert (loss["candidate"], loss["verdict"]) == ("nan", "fail")


def test_corrupt_candidate_note_is_reported_not_fatal(project, cli) -> None:
    scenario = build(project, set(range(200)))
    text = project.git.out("notes", "--ref", DEFAULT_NOTES_REF, "show", scenario.candidate)
    project.git.run(
        "notes", "--ref", DEFAULT_NOTES_REF, "add", "-f", "-F", "-", scenario.candidate,
        input=text + "\n{broken\n",
    )  # fmt: skip
    result = cli(["gate", "-C", str(project.root)])
    assert result.code == 0
    assert "note line 2" in result.err


def test_misspelt_rule_key_is_a_config_error(project, cli) -> None:
    (project.root / ".torchlane.toml").write_text(
        (project.root / ".torchlane.toml").read_text()
        + "\n[gate.metrics.accuracy]\nmax_dorp = 0.1\n"
    )
    result = cli(["gate", "-C", str(project.root)])
    assert result.code == 1
    assert "max_dorp" in result.err
    assert "max_drop" in result.err


def test_first_release_passes_without_a_baseline_and_says_so(project, cli) -> None:
    git = project.git
    git.run("checkout", "--quiet", "-b", "release/v1.0.0", "develop")
    commit = commit_file(git, "VERSION", "1.0.0\n")
    append_record(git, accuracy_record(commit, correct_pattern(100, {1})))
    result = cli(["gate", "--json", "-C", str(project.root)])
    assert result.code == 0, result.err
    decision = json.loads(result.out)
    assert (decision["passed"], decision["outcome"]) == (True, "first release")
    assert decision["baseline"]["rule"] == "release-tag"
    assert any("First release, no baseline" in m for m in decision["messages"])


def test_a_later_release_needs_the_tag_recorded_and_says_how(project, cli) -> None:
    git = project.git
    git.run("tag", "-a", "v1.0.0", "-m", "v1.0.0", "main")  # a release no pipeline evaluated
    git.run("checkout", "--quiet", "-b", "release/v1.1.0", "develop")
    commit = commit_file(git, "VERSION", "1.1.0\n")
    append_record(git, accuracy_record(commit, correct_pattern(100, {1})))
    result = cli(["gate", "-C", str(project.root)])
    assert result.code == 1
    assert "has no metrics recorded" in result.err
    assert "The tag pipeline of v1.0.0 records it" in result.err
    assert "torchlane eval v1.0.0 && torchlane metrics push" in result.err


def test_no_baseline_hint_fits_first_adoption(project, cli) -> None:
    git = project.git
    git.run("checkout", "--quiet", "-b", "feature/first-model", "develop")
    commit = commit_file(git, "m.py", "x")
    append_record(git, accuracy_record(commit, correct_pattern(100, {1})))
    first = cli(["gate", "-C", str(project.root)])
    assert first.code == 1
    assert "'develop' has no eval configuration yet (first adoption)" in first.err
    assert "torchlane eval develop`" not in first.err  # it could not run there yet
    git.run("checkout", "--quiet", "develop")
    config = (project.root / ".torchlane.toml").read_text()
    commit_file(git, ".torchlane.toml", config + '\n[eval]\nentry = "m:evaluate"\n')
    git.run("checkout", "--quiet", "feature/first-model")
    later = cli(["gate", "-C", str(project.root)])
    assert later.code == 1
    assert "`torchlane eval develop`" in later.err
    assert "first adoption" not in later.err


def test_gate_power_prints_the_table_and_warns_below_the_detectable_drop(project, cli) -> None:
    # 450 examples, a 1-point tolerance: the candidate fixes 10 of develop's errors, makes 17 new.
    wrong = set(range(10, 200)) | set(range(300, 317))
    build(project, wrong, n=450)
    result = cli(["gate", "--power", "-C", str(project.root)])
    assert result.code == 0, result.err
    assert "smallest drop caught" in result.out
    assert "450 (now)" in result.out
    assert "10,000" in result.out
    assert "warning: accuracy: with 450 examples, drops under" in result.err
    assert "needs about" in result.err
    decision = json.loads(cli(["gate", "--json", "-C", str(project.root)]).out)
    (power,) = decision["power"]
    assert power["metric"] == "accuracy"
    assert power["n"] == 450
    assert 0.02 < power["caught_80"] < power["caught_95"] < 0.2
    assert power["needed"] > 450
    assert decision["warnings"] == [power["warning"]]
    report = cli(["report", "-C", str(project.root)])
    assert "power: accuracy: with 450 examples" in report.out


def test_gate_with_an_unknown_metric_direction_is_an_explicit_outcome(project, cli) -> None:
    git = project.git
    with (project.root / ".torchlane.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[gate]\nseed = 1\n[gate.metrics.zork]\nmax_drop = 0.1\n")
    git.run("checkout", "--quiet", "develop")
    values = correct_pattern(2000, set(range(200)))
    base = commit_file(git, "model.py", "base")
    append_record(git, accuracy_record(base, values, extra_metrics={"zork": 1.0}, branch="develop"))
    git.run("checkout", "--quiet", "-b", "feature/zork")
    cand = commit_file(git, "model.py", "candidate")
    append_record(git, accuracy_record(cand, values, extra_metrics={"zork": 2.0}))
    result = cli(["gate", "-C", str(project.root)])
    assert result.code == 1
    assert "Gate failed (unknown direction)" in result.out
    assert '[tool.torchlane.gate.metrics.zork] direction = "higher"' in result.err
