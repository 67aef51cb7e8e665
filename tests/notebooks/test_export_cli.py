"""`nb export` styles, and `nb strip` / `nb check` on files through the CLI."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebooks import samples
from torchlane.notebooks.files import Outcome, check_paths


def _training_notebook() -> dict[str, object]:
    return samples.notebook(
        [
            samples.markdown_cell("# Train a tiny model\nSee `train`."),
            samples.code_cell(
                "%matplotlib inline\n!pip install tqdm\nimport math\nif False:\n    !ls\n"
            ),
            samples.code_cell("# 1. Load the data!\ndata = [math.sqrt(i) for i in range(10)]\n"),
            samples.markdown_cell("## Fit"),
            samples.code_cell(
                "# load the data\ntotal = 0.0\nfor value in data:\n    total += value\n"
            ),
            samples.code_cell("%%bash\necho hi\n"),
            samples.code_cell("def report(x):\n    return f'{x:.2f}'\n\n\nprint(report(total))\n"),
        ]
    )


def test_functions_style_compiles_runs_and_shares_state(tmp_path: Path, cli) -> None:
    notebook = tmp_path / "train.ipynb"
    notebook.write_text(samples.dump(_training_notebook()), encoding="utf-8")
    module = tmp_path / "train.py"
    result = cli(["nb", "export", str(notebook), str(module), "--json"])
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["functions"] == [
        "cell_2",
        "load_the_data",
        "load_the_data_2",
        "cell_magic_bash",
        "cell_7",
    ]
    assert report["commented_magics"] == 5  # three line magics, the %%bash cell's two lines
    code = module.read_text(encoding="utf-8")
    tree = ast.parse(code)
    names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert names == [*report["functions"], "main"]
    assert "# %matplotlib inline" in code
    assert "    pass  # !ls" in code
    assert "# !pip install tqdm" in code
    assert "# # Train a tiny model" in code  # markdown kept as comments
    run = subprocess.run([sys.executable, str(module)], capture_output=True, text=True, check=True)
    assert run.stdout == "19.31\n"  # state flows from cell to cell as in the kernel
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--quiet", str(module)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_percent_style_is_a_jupytext_script(tmp_path: Path, cli) -> None:
    notebook = tmp_path / "train.ipynb"
    notebook.write_text(samples.dump(_training_notebook()), encoding="utf-8")
    module = tmp_path / "train_percent.py"
    assert cli(["nb", "export", str(notebook), str(module), "--style", "percent"]).code == 0
    code = module.read_text(encoding="utf-8")
    compile(code, str(module), "exec")
    markers = [line for line in code.splitlines() if line.startswith("# %%")]
    assert markers == ["# %% [markdown]", "# %%", "# %%", "# %% [markdown]", "# %%", "# %%", "# %%"]
    assert "# %% [markdown]\n# # Train a tiny model\n# See `train`.\n" in code
    run = subprocess.run([sys.executable, str(module)], capture_output=True, text=True, check=True)
    assert run.stdout == "19.31\n"


def test_export_refuses_to_overwrite_and_reports_bad_cells(tmp_path: Path, cli) -> None:
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(samples.dump(_training_notebook()), encoding="utf-8")
    module = tmp_path / "out.py"
    module.write_text("keep me\n", encoding="utf-8")
    result = cli(["nb", "export", str(notebook), str(module)])
    assert result.code == 1
    assert "--force" in result.err
    assert module.read_text(encoding="utf-8") == "keep me\n"
    broken = samples.notebook([samples.code_cell("x = (\n")])
    notebook.write_text(samples.dump(broken), encoding="utf-8")
    result = cli(["nb", "export", str(notebook), str(module), "--force"])
    assert result.code == 1
    assert "Cell 1" in result.err
    assert "not valid Python" in result.err
    assert module.read_text(encoding="utf-8") == "keep me\n"


def test_strip_and_check_on_a_directory(tmp_path: Path, cli) -> None:
    folder = tmp_path / "notebooks"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    text = samples.dump(samples.session_notebook())
    (folder / "a.ipynb").write_text(text, encoding="utf-8")
    (folder / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text(text, encoding="utf-8")
    (folder / "notes.txt").write_text("not a notebook", encoding="utf-8")
    check = cli(["nb", "check", str(folder)])
    assert check.code == 1
    assert "a.ipynb" in check.out
    assert "checkpoint" not in check.out
    strip = cli(["nb", "strip", str(folder), "--json"])
    assert strip.code == 0
    assert [n["outcome"] for n in json.loads(strip.out)["notebooks"]] == ["stripped"]
    assert cli(["nb", "check", str(folder)]).code == 0
    assert (folder / ".ipynb_checkpoints" / "a-checkpoint.ipynb").read_text(
        encoding="utf-8"
    ) == text
    assert [r.outcome for r in check_paths([folder])] == [Outcome.CLEAN]


@pytest.mark.parametrize("command", ["strip", "check"])
def test_invalid_notebooks_are_left_untouched_with_non_zero_exit(
    tmp_path: Path, cli, command: str
) -> None:
    broken = tmp_path / "broken.ipynb"
    content = b'{"cells": [\n  oops'
    broken.write_bytes(content)
    result = cli(["nb", command, str(broken), str(tmp_path / "missing.ipynb")])
    assert result.code == 1
    assert "broken.ipynb: not valid JSON" in result.err
    assert "missing.ipynb: no such file" in result.err
    assert broken.read_bytes() == content


def test_strip_reads_the_team_settings(tmp_path: Path, cli) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.notebooks]\nextra_keys = ["metadata.custom"]\nkeep_count = true\n',
        encoding="utf-8",
    )
    path = tmp_path / "a.ipynb"
    path.write_text(samples.dump(samples.session_notebook()), encoding="utf-8")
    assert cli(["nb", "strip", str(path)], cwd=tmp_path).code == 0
    stripped = json.loads(path.read_text(encoding="utf-8"))
    assert "custom" not in stripped["metadata"]
    assert stripped["cells"][1]["execution_count"] == 3
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.notebooks]\nextra_keys = ["outputs"]\n', encoding="utf-8"
    )
    result = cli(["nb", "strip", str(path)], cwd=tmp_path)
    assert result.code == 1
    assert "extra_keys" in result.err


def test_strip_keeps_permissions_and_symbolic_links(tmp_path: Path) -> None:
    from torchlane.notebooks.files import strip_paths
    from torchlane.notebooks.options import StripOptions

    target = tmp_path / "real.ipynb"
    target.write_text(samples.dump(samples.session_notebook()), encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "link.ipynb"
    link.symlink_to(target)
    [result] = strip_paths([link], StripOptions())
    assert result.outcome is Outcome.STRIPPED
    assert link.is_symlink()
    assert target.stat().st_mode & 0o777 == 0o640
    assert '"outputs": []' in target.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("before", [True, False])
def test_list_options_take_space_separated_words_like_nbstripout(
    tmp_path: Path, cli, before: bool
) -> None:
    outputs = [samples.stream("out\n"), samples.result("2"), samples.error("E", "v")]
    notebook = samples.notebook([samples.code_cell("print(1)", outputs)])
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    options = ["--keep-output-type", "stream", "error"]
    args = ["nb", "strip", *options, str(path)] if before else ["nb", "strip", str(path), *options]
    done = cli(args, cwd=tmp_path)
    assert done.code == 0, done.err
    outputs = json.loads(path.read_text(encoding="utf-8"))["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "error"]
