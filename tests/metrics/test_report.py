"""`torchlane report`: markdown and JSON for pull requests, PNG charts, TensorBoard, sinks."""

from __future__ import annotations

import json
import sys

import pytest

from tests.metrics.helpers import plain_record
from tests.metrics.scenario import build
from torchlane.errors import TorchlaneError
from torchlane.report.chart import threshold_label
from torchlane.report.sinks import require, send_to_mlflow, send_to_wandb, wandb_run_id


def test_markdown_report_for_a_pull_request(project, cli, tmp_path) -> None:
    scenario = build(project, set(range(300)))
    out = tmp_path / "report.md"
    result = cli(
        ["report", "--artifact", "checkpoint=https://example.com/a b.pt", "--artifact",
         "runs/eval.json", "--output", str(out), "-C", str(project.root)]
    )  # fmt: skip
    assert result.code == 0  # the report informs; `gate` is what blocks
    text = out.read_text()
    lines = text.splitlines()
    assert lines[0] == "<!-- torchlane-report -->"
    assert "Model quality gate failed" in lines[1]
    assert f"baseline `{scenario.develop[-1][:12]}`: develop's first-parent commit" in text
    header = "| metric | baseline | candidate | change | 95% interval | verdict |"
    table = lines[lines.index(header) :]
    assert table[2].startswith("| accuracy ↑ | 0.9000 | 0.8500 | -0.0500 (-5.56%) | [-0.0500, ")
    assert table[2].endswith("| ❌ fail |")
    assert table[3].startswith("| loss ↓ | 0.4800 | 0.4900 |")
    assert "at most 2.5% of the time" in text
    assert "adjusted together (Holm)" in text
    assert "| torch | 2.13.0 | 2.13.0 |" in text
    assert "- [checkpoint](https://example.com/a%20b.pt)" in text
    assert "- [eval.json](runs/eval.json)" in text


def test_json_report_has_the_same_content(project, cli) -> None:
    scenario = build(project, set(range(200)))
    result = cli(["report", "--format", "json", "-C", str(project.root)])
    assert result.code == 0
    report = json.loads(result.out)
    assert report["marker"] == "<!-- torchlane-report -->"
    assert report["decision"]["passed"] is True
    assert report["decision"]["baseline"]["commit"] == scenario.develop[-1]
    assert report["environment"]["candidate"]["device"] == "cpu"
    assert [m["metric"] for m in report["decision"]["metrics"]] == ["accuracy", "loss"]


@pytest.mark.slow
def test_chart_png_per_gated_metric(project, cli, tmp_path) -> None:
    build(project, set(range(300)))
    charts = tmp_path / "charts"
    result = cli(
        ["report", "--chart", str(charts), "-o", str(tmp_path / "r.md"), "-C", str(project.root)]
    )
    assert result.code == 0
    written = sorted(p.name for p in charts.iterdir())
    assert written == ["accuracy.png", "loss.png"]
    from PIL import Image

    with Image.open(charts / "accuracy.png") as image:
        assert image.format == "PNG"
        assert image.size[0] > 600


def test_tensorboard_scalars_read_back_and_branches_without_evaluations_get_no_run(
    project, cli, tmp_path
) -> None:
    scenario = build(project, set(range(300)))
    logdir = tmp_path / "tb"
    result = cli(
        [
            "report",
            "--tensorboard",
            str(logdir),
            "-o",
            str(tmp_path / "r.md"),
            "-C",
            str(project.root),
        ]
    )
    assert result.code == 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = sorted(p.name for p in logdir.iterdir())
    # main has no evaluation here: no run for it, rather than an empty one.
    assert runs == ["develop", "feature_wider-layers"]
    develop = EventAccumulator(str(logdir / "develop"))
    develop.Reload()
    accuracy = develop.Scalars("accuracy")
    # README commit, adoption commit, then three evaluated commits: steps 2, 3, 4.
    assert [e.step for e in accuracy] == [2, 3, 4]
    assert [round(e.value, 4) for e in accuracy] == [0.89, 0.895, 0.9]
    feature = EventAccumulator(str(logdir / "feature_wider-layers"))
    feature.Reload()
    assert [(e.step, round(e.value, 4)) for e in feature.Scalars("accuracy")][-1] == (5, 0.85)
    assert len(scenario.develop) == 3


def test_wandb_run_id_is_stable_per_record_and_distinct_across_records() -> None:
    first = plain_record("a" * 40, {"accuracy": 0.9}, "2026-01-01T00:00:00+00:00")
    rerun = plain_record("a" * 40, {"accuracy": 0.91}, "2026-01-02T00:00:00+00:00")
    assert wandb_run_id(first) == wandb_run_id(plain_record("a" * 40, {"accuracy": 0.5}))
    assert wandb_run_id(first) != wandb_run_id(rerun)
    assert wandb_run_id(first).startswith("a" * 16 + "-")
    assert len(wandb_run_id(first)) <= 64
    assert set(wandb_run_id(first)) <= set("0123456789abcdef-")


@pytest.mark.parametrize(
    ("module", "send", "extra"),
    [
        ("wandb", lambda r: send_to_wandb(r, "proj"), "wandb"),
        ("mlflow", lambda r: send_to_mlflow(r, "exp"), "mlflow"),
    ],
)
def test_missing_sink_package_gives_an_install_hint(monkeypatch, module, send, extra) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail, installed or not
    with pytest.raises(TorchlaneError) as caught:
        send(plain_record("a" * 40, {"accuracy": 0.9}))
    assert caught.value.hint == f"pip install 'torchlane[{extra}]'"
    assert "not installed" in caught.value.message


def test_report_with_wandb_missing_exits_with_the_hint(project, cli, monkeypatch, tmp_path) -> None:
    build(project, set(range(200)))
    monkeypatch.setitem(sys.modules, "wandb", None)
    result = cli(
        ["report", "--wandb", "proj", "-o", str(tmp_path / "r.md"), "-C", str(project.root)]
    )
    assert result.code == 1
    assert "pip install 'torchlane[wandb]'" in result.err
    assert not (tmp_path / "r.md").exists()


def test_require_returns_installed_modules() -> None:
    assert require("json", "x", "json").dumps([]) == "[]"


def test_the_chart_legend_names_the_threshold_value_not_a_drop() -> None:
    assert threshold_label("higher", 0.975) == "lowest accepted (0.975)"
    assert threshold_label("lower", 0.31) == "highest accepted (0.31)"
