"""`torchlane metrics show/log/diff`, for people and with --json."""

from __future__ import annotations

import json

from tests.metrics.scenario import build
from torchlane.metrics.store import DEFAULT_NOTES_REF


def test_show_lists_every_record_of_a_commit(project, cli) -> None:
    scenario = build(project, set(range(200)))
    result = cli(["metrics", "show", "--json", "-C", str(project.root)])
    assert result.code == 0
    shown = json.loads(result.out)
    assert shown["commit"] == scenario.candidate
    assert shown["records"][0]["metrics"] == {"accuracy": 0.9, "loss": 0.49}
    assert shown["records"][0]["per_example"]["count"] == 2000
    human = cli(["metrics", "show", scenario.develop[0], "-C", str(project.root)])
    assert "accuracy: 0.89" in human.out


def test_show_reports_corrupt_lines_without_hiding_good_ones(project, cli) -> None:
    scenario = build(project, set(range(200)))
    commit = scenario.develop[0]
    text = project.git.out("notes", "--ref", DEFAULT_NOTES_REF, "show", commit)
    project.git.run(
        "notes", "--ref", DEFAULT_NOTES_REF, "add", "-f", "-F", "-", commit, input="oops\n" + text
    )
    result = cli(["metrics", "show", "--json", commit, "-C", str(project.root)])
    shown = json.loads(result.out)
    assert len(shown["records"]) == 1
    assert shown["problems"][0]["commit"] == commit
    assert shown["problems"][0]["line"] == 1
    human = cli(["metrics", "show", commit, "-C", str(project.root)])
    assert f"{commit[:12]} note line 1" in human.err


def test_log_follows_develops_first_parent_line(project, cli) -> None:
    scenario = build(project, set(range(200)))
    result = cli(["metrics", "log", "--json", "-C", str(project.root)])
    assert result.code == 0
    log = json.loads(result.out)
    assert log["tip"] == "develop"
    assert [e["commit"] for e in log["entries"]] == scenario.develop[::-1]
    assert [e["metrics"]["accuracy"] for e in log["entries"]] == [0.9, 0.895, 0.89]
    everything = json.loads(cli(["metrics", "log", "--all", "--json", "-C", str(project.root)]).out)
    assert len(everything["entries"]) == 5
    limited = json.loads(cli(["metrics", "log", "-n", "1", "--json", "-C", str(project.root)]).out)
    assert len(limited["entries"]) == 1
    table = cli(["metrics", "log", "-C", str(project.root)])
    assert scenario.develop[0][:12] in table.out


def test_diff_gives_change_and_relative_change(project, cli) -> None:
    scenario = build(project, set(range(300)))
    result = cli(
        ["metrics", "diff", "--json", scenario.develop[-1], "HEAD", "-C", str(project.root)]
    )
    rows = {r["metric"]: r for r in json.loads(result.out)["rows"]}
    assert rows["accuracy"]["a"] == 0.9
    assert rows["accuracy"]["b"] == 0.85
    assert abs(rows["accuracy"]["change"] + 0.05) < 1e-12
    assert abs(rows["accuracy"]["relative_change"] + 0.05 / 0.9) < 1e-12
    human = cli(["metrics", "diff", scenario.develop[-1], "HEAD", "-C", str(project.root)])
    assert "-5.56%" in human.out


def test_diff_with_an_unevaluated_commit_explains(project, cli) -> None:
    build(project, set(range(200)))
    result = cli(["metrics", "diff", "main", "HEAD", "-C", str(project.root)])
    assert result.code == 1
    assert "'main'" in result.err
    assert "has no metrics recorded" in result.err
    assert "hint:" in result.err
    bad = cli(["metrics", "show", "no-such-rev", "-C", str(project.root)])
    assert bad.code == 1
    assert "not a commit" in bad.err


def test_configured_notes_ref_is_used(project, cli) -> None:
    (project.root / ".torchlane.toml").write_text(
        (project.root / ".torchlane.toml").read_text() + '\n[metrics]\nnotes_ref = "quality"\n'
    )
    build(project, set(range(200)), config="")
    assert project.git.ref_value("refs/notes/torchlane") is not None
    result = cli(["metrics", "show", "--json", "-C", str(project.root)])
    assert json.loads(result.out)["records"] == []
    other = cli(["metrics", "show", "--json", "--notes-ref", "torchlane", "-C", str(project.root)])
    assert len(json.loads(other.out)["records"]) == 1
