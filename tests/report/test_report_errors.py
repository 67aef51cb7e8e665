"""`report` options that cannot be honoured end in one sentence and a hint, before writing."""

from __future__ import annotations

import sys

import pytest

from tests.metrics.scenario import build


def test_tensorboard_not_installed_is_one_clear_error(project, cli, monkeypatch, tmp_path) -> None:
    build(project, set(range(200)))
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` fails
    report = tmp_path / "r.md"
    result = cli(
        [
            "report",
            "--tensorboard",
            str(tmp_path / "tb"),
            "-o",
            str(report),
            "-C",
            str(project.root),
        ]
    )
    assert result.code == 1, result.err
    assert "TensorBoard (the tensorboard package) is not installed" in result.err
    assert "pip install 'torchlane[ml]'" in result.err
    assert "Traceback" not in result.err
    assert not report.exists()


@pytest.mark.parametrize("bad", ["a-file/below-it", "/proc/no-charts-here"])
def test_chart_to_a_folder_that_cannot_be_made_is_one_clear_error(
    project, cli, tmp_path, bad
) -> None:
    build(project, set(range(200)))
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    target = bad if bad.startswith("/") else str(tmp_path / bad)
    report = tmp_path / "r.md"
    result = cli(["report", "--chart", target, "-o", str(report), "-C", str(project.root)])
    assert result.code == 1, result.err
    assert f"Cannot write --chart output to {target}" in result.err
    assert "hint: Give --chart a folder you can write to" in result.err
    assert "Traceback" not in result.err
    assert not report.exists()


def test_output_into_a_file_used_as_a_folder_is_one_clear_error(project, cli, tmp_path) -> None:
    build(project, set(range(200)))
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    result = cli(["report", "-o", str(tmp_path / "a-file" / "r.md"), "-C", str(project.root)])
    assert result.code == 1, result.err
    assert "Cannot write --output output to" in result.err


def test_chart_onto_an_existing_file_is_a_usage_error(project, cli, tmp_path) -> None:
    build(project, set(range(200)))
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    result = cli(["report", "--chart", str(tmp_path / "a-file"), "-C", str(project.root)])
    assert result.code == 2  # click's own check, before torchlane runs
    assert "is a file" in result.err
