"""The filter end to end, through real git: install, add, status, diff, checkout, uninstall."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notebooks import samples
from torchlane.git import Git
from torchlane.notebooks.filter_process import ENTRY
from torchlane.notebooks.install import ATTRIBUTES_LINE, DRIVER
from torchlane.notebooks.options import StripOptions
from torchlane.notebooks.strip import strip_text


@pytest.fixture
def repo(tmp_path: Path, cli) -> Git:
    root = tmp_path / "work"
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet")
    result = cli(["nb", "install-filter", "--repo", str(root)])
    assert result.code == 0, result.err
    return git


def _write(git: Git, name: str, text: str) -> Path:
    path = git.cwd / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _filter_starts(trace: Path) -> int:
    events = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    return sum(
        1
        for event in events
        if event.get("event") == "child_start"
        and any("torchlane.notebooks.filter_process" in arg for arg in event.get("argv", []))
        and not any("--textconv" in arg for arg in event.get("argv", []))
    )


def test_add_stores_stripped_notebooks_and_keeps_the_work_tree(repo: Git) -> None:
    text = samples.dump(samples.session_notebook())
    path = _write(repo, "analysis/train.ipynb", text)
    repo.run("add", "--all")
    staged = repo.run("show", ":analysis/train.ipynb").stdout
    assert staged == strip_text(text, StripOptions())
    assert '"outputs": []' in staged
    assert "hello" not in staged.split('"source"')[0]
    assert path.read_text(encoding="utf-8") == text  # outputs stay in the user's file
    assert repo.out("status", "--porcelain") == "A  .gitattributes\nA  analysis/train.ipynb"
    repo.run("commit", "--quiet", "-m", "notebook")
    assert repo.out("status", "--porcelain") == ""  # clean although the file has outputs


def test_one_filter_process_serves_every_notebook(repo: Git, tmp_path: Path) -> None:
    for index in range(25):
        _write(repo, f"nb{index:02d}.ipynb", samples.dump(samples.session_notebook()))
    # One notebook larger than a pkt-line (65516 bytes) both ways: its kept output is 300 KB.
    big = samples.session_notebook()
    big["cells"][3]["outputs"][0]["data"]["image/png"] = samples.PNG * 300
    big_text = samples.dump(big)
    _write(repo, "big.ipynb", big_text)
    trace = tmp_path / "trace.json"
    repo.run("add", "--all", env={"GIT_TRACE2_EVENT": str(trace)})
    assert _filter_starts(trace) == 1
    assert len(repo.lines("ls-files", "*.ipynb")) == 26
    assert repo.run("show", ":big.ipynb").stdout == strip_text(big_text, StripOptions())


def test_a_configuration_from_an_older_install_keeps_working_and_install_updates_it(
    repo: Git, cli
) -> None:
    """Installs before the `-c` entry configured `python -m torchlane.notebooks.filter_process`:
    git still strips through it, and installing again writes the leaner command."""
    old = f"{sys.executable} -m torchlane.notebooks.filter_process"
    repo.run("config", f"filter.{DRIVER}.process", old)
    repo.run("config", f"diff.{DRIVER}.textconv", f"{old} --textconv")
    text = samples.dump(samples.session_notebook())
    _write(repo, "old.ipynb", text)
    repo.run("add", "old.ipynb")
    assert repo.run("show", ":old.ipynb").stdout == strip_text(text, StripOptions())
    result = cli(["nb", "install-filter", "--repo", str(repo.cwd)])
    assert result.code == 0, result.err
    process = repo.out("config", f"filter.{DRIVER}.process")
    assert process.endswith(f"-c '{ENTRY}'")
    assert repo.out("config", f"diff.{DRIVER}.textconv") == f"{process} --textconv"
    _write(repo, "new.ipynb", text)
    repo.run("add", "new.ipynb")
    assert repo.run("show", ":new.ipynb").stdout == strip_text(text, StripOptions())


def test_hooks_install_moves_an_older_filter_command_to_the_lean_entry(repo: Git, cli) -> None:
    old = f"{sys.executable} -m torchlane.notebooks.filter_process --keep-count"
    repo.run("config", f"filter.{DRIVER}.process", old)
    repo.run("config", f"diff.{DRIVER}.textconv", f"{old} --textconv")
    result = cli(["hooks", "install", "--repo", str(repo.cwd)])
    assert result.code == 0, result.err
    assert "notebook filter: updated filter.torchlane-nb.process" in result.out
    process = repo.out("config", f"filter.{DRIVER}.process")
    assert process == f"{sys.executable} -c '{ENTRY}' --keep-count"
    assert repo.out("config", f"diff.{DRIVER}.textconv") == f"{process} --textconv"
    text = samples.dump(samples.session_notebook())
    _write(repo, "a.ipynb", text)
    repo.run("add", "a.ipynb")
    assert repo.run("show", ":a.ipynb").stdout == strip_text(text, StripOptions(keep_count=True))
    again = cli(["hooks", "install", "--repo", str(repo.cwd)])
    assert "notebook filter" not in again.out  # nothing left to update


def test_broken_notebook_is_stored_unchanged_with_a_reason(repo: Git) -> None:
    broken = '{"cells": [ {"cell_type": "code", \n'
    _write(repo, "broken.ipynb", broken)
    _write(repo, "good.ipynb", samples.dump(samples.session_notebook()))
    result = repo.run("add", "--all")
    assert repo.run("show", ":broken.ipynb").stdout == broken
    assert "broken.ipynb: not valid JSON" in result.stderr
    assert "stored unchanged" in result.stderr
    assert '"outputs": []' in repo.run("show", ":good.ipynb").stdout


def test_diff_of_history_uses_the_stripped_text(tmp_path: Path, cli) -> None:
    """Notebooks committed with outputs before the filter existed: textconv strips both sides.
    (Work-tree diffs are already stripped by the clean filter itself.)"""
    git = Git(tmp_path)
    git.run("init", "--quiet")
    nb = samples.session_notebook()
    _write(git, "a.ipynb", samples.dump(nb))
    git.run("add", "--all")
    git.run("commit", "--quiet", "-m", "first")
    nb["cells"][2]["source"] = ["x = 40 + 2\n", "x"]
    nb["cells"][2]["outputs"][0]["data"]["text/plain"] = ["42"]
    _write(git, "a.ipynb", samples.dump(nb))
    git.run("commit", "--quiet", "--all", "-m", "second")
    assert cli(["nb", "install-filter", "--repo", str(tmp_path)]).code == 0
    diff = git.run("diff", "HEAD~1", "HEAD", "--", "a.ipynb").stdout
    assert '+    "x = 40 + 2\\n",' in diff
    assert '"42"' not in diff  # the output changed too, but outputs are not shown
    raw = git.run("diff", "--no-textconv", "HEAD~1", "HEAD", "--", "a.ipynb").stdout
    assert '"42"' in raw


def test_checkout_gives_back_the_outputs_this_clone_stripped(repo: Git) -> None:
    original = samples.dump(samples.session_notebook())
    _write(repo, "a.ipynb", original)
    repo.run("add", "--all")
    repo.run("commit", "--quiet", "-m", "first")
    committed = repo.run("show", "HEAD:a.ipynb").stdout
    (repo.cwd / "a.ipynb").unlink()
    repo.run("checkout", "--", "a.ipynb")
    assert (repo.cwd / "a.ipynb").read_text(encoding="utf-8") == original
    # A clone that never saw the outputs gets the blob as it is.
    shutil.rmtree(repo.cwd / ".git" / "torchlane" / "nb-outputs")
    (repo.cwd / "a.ipynb").unlink()
    repo.run("checkout", "--", "a.ipynb")
    assert (repo.cwd / "a.ipynb").read_text(encoding="utf-8") == committed


def test_install_is_idempotent_and_uninstall_restores(tmp_path: Path, cli) -> None:
    root = tmp_path / "work"
    root.mkdir()
    git = Git(root)
    git.run("init", "--quiet")
    before = "*.png binary"  # no final newline: install must add one, uninstall remove it
    (root / ".gitattributes").write_text(before, encoding="utf-8")
    config_before = git.run("config", "--local", "--list").stdout
    assert cli(["nb", "install-filter", "--repo", str(root)]).code == 0
    assert cli(["nb", "install-filter", "--repo", str(root), "--keep-count"]).code == 0
    attributes = (root / ".gitattributes").read_text(encoding="utf-8")
    assert attributes == f"{before}\n{ATTRIBUTES_LINE}\n"
    process = git.out("config", f"filter.{DRIVER}.process")
    assert process.endswith(f"-c '{ENTRY}' --keep-count")  # no runpy: see install.py
    assert git.out("config", f"filter.{DRIVER}.required") == "true"
    assert git.out("config", f"diff.{DRIVER}.textconv") == f"{process} --textconv"
    assert git.out("check-attr", "filter", "--", "x.ipynb") == f"x.ipynb: filter: {DRIVER}"

    result = cli(["nb", "uninstall-filter", "--repo", str(root), "--json"])
    assert result.code == 0
    assert (root / ".gitattributes").read_text(encoding="utf-8") == before
    assert git.run("config", "--local", "--list").stdout == config_before
    again = cli(["nb", "uninstall-filter", "--repo", str(root)])
    assert "nothing to undo" in again.out


def test_uninstall_removes_an_attributes_file_it_created(repo: Git, cli) -> None:
    assert (repo.cwd / ".gitattributes").read_text(encoding="utf-8") == ATTRIBUTES_LINE + "\n"
    assert cli(["nb", "uninstall-filter", "--repo", str(repo.cwd)]).code == 0
    assert not (repo.cwd / ".gitattributes").exists()
    assert not repo.succeeds("config", "--get", f"filter.{DRIVER}.process")


def test_global_scope_uses_the_global_attributes_file(
    tmp_path: Path, cli, isolated_env: Path
) -> None:
    result = cli(["nb", "install-filter", "--global", "--repo", str(tmp_path)])
    assert result.code == 0, result.err
    attributes = isolated_env / ".config" / "git" / "attributes"
    assert attributes.read_text(encoding="utf-8") == ATTRIBUTES_LINE + "\n"
    git = Git(tmp_path)
    assert "filter_process" in git.out("config", "--global", f"filter.{DRIVER}.process")
    assert cli(["nb", "uninstall-filter", "--global"]).code == 0
    assert not attributes.exists()
    assert not git.succeeds("config", "--global", "--get", f"filter.{DRIVER}.process")


def test_install_warns_when_another_filter_wins(repo: Git, cli) -> None:
    info = repo.cwd / ".git" / "info" / "attributes"
    info.parent.mkdir(parents=True, exist_ok=True)
    info.write_text("*.ipynb filter=nbstripout\n", encoding="utf-8")
    result = cli(["nb", "install-filter", "--repo", str(repo.cwd), "--keep-id"])
    assert result.code == 0
    assert "filter=nbstripout" in result.err


def test_install_outside_a_repository_fails_clearly(tmp_path: Path, cli) -> None:
    result = cli(["nb", "install-filter", "--repo", str(tmp_path)])
    assert result.code == 1
    assert "not inside a git repository" in result.err
    assert not (tmp_path / ".gitattributes").exists()


def test_textconv_of_a_broken_file_prints_it_unchanged(tmp_path: Path) -> None:
    broken = tmp_path / "b.ipynb"
    broken.write_bytes(b"\xff\xfe not utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "torchlane.notebooks.filter_process", "--textconv", str(broken)],
        capture_output=True,
        check=True,
    )
    assert run.stdout == b"\xff\xfe not utf-8"
    assert b"not UTF-8" in run.stderr


def test_a_missing_filter_stops_git_instead_of_committing_outputs(repo: Git) -> None:
    """required = true: when the filter cannot start, git refuses to stage the notebook."""
    repo.run("config", f"filter.{DRIVER}.process", "/nonexistent/python -m nowhere")
    _write(repo, "a.ipynb", samples.dump(samples.session_notebook()))
    result = repo.run("add", "a.ipynb", check=False)
    assert not result.ok
    assert "/nonexistent/python: not found" in result.stderr
    assert repo.lines("ls-files", "a.ipynb") == []


def test_the_filter_process_starts_lean() -> None:
    """It starts inside every git command: no click, pydantic, rich, nbformat, nor typing."""
    probe = (
        "import sys; before = set(sys.modules); import torchlane.notebooks.filter_process; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )  # what importing the filter adds, whatever the interpreter's start-up already loaded
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(run.stdout.split())
    assert "torchlane.notebooks.options" in loaded
    heavy = {
        # git starts the filter for commands that send it no notebook: the stripper, json and
        # hashlib come with the first one.
        "torchlane.notebooks.strip",
        "json",
        "hashlib",
        "click",
        "pydantic",
        "rich",
        "nbformat",
        "typing",
        "dataclasses",
        "torchlane.config.load",
    }
    assert loaded.isdisjoint(heavy), sorted(loaded & heavy)


def _packets(*items: bytes | None) -> bytes:
    return b"".join(b"0000" if item is None else b"%04x" % (len(item) + 4) + item for item in items)


def test_protocol_conversation_without_git() -> None:
    """The exchange gitattributes(5) documents, byte for byte, including an unknown command."""
    import io

    from torchlane.notebooks.filter_process import ProtocolError, serve

    notebook = samples.dump(samples.session_notebook()).encode()
    stdin = io.BytesIO(
        _packets(b"git-filter-client\n", b"version=2\n", None)
        + _packets(b"capability=clean\n", b"capability=smudge\n", b"capability=delay\n", None)
        + _packets(b"command=smudge\n", b"pathname=a.ipynb\n", None, b"as is", None)
        + _packets(b"command=frobnicate\n", b"pathname=a.ipynb\n", None, None)
        + _packets(b"command=clean\n", b"pathname=a.ipynb\n", None, notebook, None)
    )
    stdout = io.BytesIO()
    serve(stdin, stdout, StripOptions())
    stripped = strip_text(notebook.decode(), StripOptions()).encode()
    assert stdout.getvalue() == (
        _packets(b"git-filter-server\n", b"version=2\n", None)
        + _packets(b"capability=clean\n", b"capability=smudge\n", None)
        + _packets(b"status=success\n", None, b"as is", None, None)
        + _packets(b"status=error\n", None)
        + _packets(b"status=success\n", None, stripped, None, None)
    )
    with pytest.raises(ProtocolError, match="greeting"):
        serve(io.BytesIO(_packets(b"hello\n", None)), io.BytesIO(), StripOptions())


# Outputs survive every command that rewrites the work tree from blobs (issue 12).


def _two_cells(first: str, second: str, *, out: str = "") -> str:
    cells = [
        samples.code_cell(first, [samples.stream(f"{first} says {out}\n")], count=1),
        samples.code_cell(second, [samples.stream(f"{second} says {out}\n")], count=2),
    ]
    return samples.dump(samples.notebook(cells))


def _committed(repo: Git, text: str, message: str) -> Path:
    path = _write(repo, "nb.ipynb", text)
    repo.run("add", "--all")
    repo.run("commit", "--quiet", "-m", message)
    return path


def test_stash_and_pop_keep_outputs_on_disk(repo: Git) -> None:
    committed = _two_cells("a", "b", out="first run")
    path = _committed(repo, committed, "notebook")
    edited = _two_cells("a", "b2", out="second run")
    path.write_text(edited, encoding="utf-8")
    repo.run("stash", "--quiet")
    assert path.read_text(encoding="utf-8") == committed  # the committed run's outputs
    repo.run("stash", "pop", "--quiet")
    assert path.read_text(encoding="utf-8") == edited
    assert repo.out("status", "--porcelain") == "M nb.ipynb"
    assert "says" not in repo.run("show", "HEAD:nb.ipynb").stdout  # history stays stripped


def test_checkout_of_another_branch_and_back_keeps_outputs(repo: Git) -> None:
    main_text = _two_cells("a", "b", out="on main")
    path = _committed(repo, main_text, "notebook")
    repo.run("checkout", "--quiet", "-b", "feature")
    feature_text = _two_cells("a", "c", out="on feature")
    _committed(repo, feature_text, "change")
    repo.run("checkout", "--quiet", "-")
    assert path.read_text(encoding="utf-8") == main_text
    repo.run("checkout", "--quiet", "feature")
    assert path.read_text(encoding="utf-8") == feature_text
    assert repo.out("status", "--porcelain") == ""


def test_merge_and_rebase_keep_outputs_of_unchanged_cells(repo: Git) -> None:
    cells = [samples.code_cell(s, [samples.stream(f"out {s}\n")], count=1) for s in "abcd"]
    path = _committed(repo, samples.dump(samples.notebook(cells)), "four cells")
    base = repo.out("rev-parse", "HEAD")
    repo.run("checkout", "--quiet", "-b", "feature")
    cells[0] = samples.code_cell("a2", [samples.stream("out a2\n")], count=1)
    _committed(repo, samples.dump(samples.notebook(cells)), "first cell")
    repo.run("checkout", "--quiet", "-b", "other", base)
    cells = [samples.code_cell(s, [samples.stream(f"out {s}\n")], count=1) for s in "abcd"]
    cells[3] = samples.code_cell("d2", [samples.stream("out d2\n")], count=1)
    _committed(repo, samples.dump(samples.notebook(cells)), "last cell")

    repo.run("merge", "--quiet", "--no-edit", "feature")
    merged = json.loads(path.read_text(encoding="utf-8"))
    assert ["".join(c["source"]) for c in merged["cells"]] == ["a2", "b", "c", "d2"]
    # Every cell kept the outputs it had before the merge rewrote the file from the merged blob.
    assert merged["cells"][0]["outputs"] == []  # new from the other side: never run here
    assert [c["outputs"][0]["text"] for c in merged["cells"][1:]] == [
        ["out b\n"],
        ["out c\n"],
        ["out d2\n"],
    ]
    assert repo.out("status", "--porcelain") == ""
    assert "out " not in repo.run("show", "HEAD:nb.ipynb").stdout

    repo.run("reset", "--quiet", "--hard", "HEAD~1")
    repo.run("rebase", "--quiet", "feature")
    rebased = json.loads(path.read_text(encoding="utf-8"))
    assert ["".join(c["source"]) for c in rebased["cells"]] == ["a2", "b", "c", "d2"]
    assert all(c["outputs"] for c in rebased["cells"][1:])
    assert repo.out("status", "--porcelain") == ""


def test_nb_check_judges_what_the_filter_stores_not_the_file_it_keeps(repo: Git, cli) -> None:
    _committed(repo, _two_cells("a", "b", out="kept"), "notebook")
    checked = cli(["nb", "check", str(repo.cwd / "nb.ipynb")])
    assert checked.code == 0, checked.out + checked.err  # the file has outputs, git stores none
    _write(repo, "new.ipynb", _two_cells("c", "d", out="x"))  # not staged: stripped when added
    assert cli(["nb", "check", str(repo.cwd)]).code == 0
    repo.run("config", "--unset", f"filter.{DRIVER}.process")
    assert cli(["nb", "check", str(repo.cwd / "nb.ipynb")]).code == 1  # no filter: the file
