"""The installed hooks, driven by real `git commit` and `git push` to a bare remote."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.conftest import Project, commit_file
from torchlane.git import Git, GitResult
from torchlane.hooks.install import install_hooks

# Every commit and push here starts the installed hooks' interpreters (and their subprocesses).
pytestmark = pytest.mark.slow

HF = "hf_" + "QmZxWvUtSrQpOnMlKjIhGfEdCbAzYxWvUt"
GENERIC = "Zx9Qw3Er7Ty1Ui5Op2"  # torchlane: allow-secret


@pytest.fixture
def hooked(project: Project) -> Project:
    install_hooks(project.git)
    return project


def commit(git: Git, path: str, content: str) -> GitResult:
    (git.cwd / path).parent.mkdir(parents=True, exist_ok=True)
    (git.cwd / path).write_text(content, encoding="utf-8")
    git.run("add", "--", path)
    return git.run("commit", "--quiet", "-m", f"Change {path}", check=False)


def push(git: Git, *refspecs: str, **env: str) -> GitResult:
    return git.run("push", "--quiet", "origin", *refspecs, check=False, env=env or None)


def remote_has(project: Project, branch: str) -> bool:
    return Git(project.origin).ref_value(f"refs/heads/{branch}") is not None


def test_commit_with_a_staged_secret_is_blocked(hooked: Project) -> None:
    git = hooked.git
    git.run("checkout", "--quiet", "-b", "feature/add-data-loader")
    blocked = commit(git, "train.py", f'login(token="{HF}")\n')
    assert blocked.returncode != 0
    assert "train.py:1:14: Hugging Face access token (huggingface-token): hf_Q…" in blocked.stderr
    assert HF not in blocked.stderr
    assert "commit refused (secrets)" in blocked.stderr
    assert commit(git, "train.py", "login()\n").ok


def test_commit_all_scans_the_temporary_index(hooked: Project) -> None:
    git = hooked.git
    commit_file(git, "config.py", "token = None\n")
    (git.cwd / "config.py").write_text(f'api_token = "{GENERIC}"\n', encoding="utf-8")
    # `git commit -a` stages into a temporary index (GIT_INDEX_FILE) the hook must read.
    blocked = git.run("commit", "--quiet", "-a", "-m", "Set the token", check=False)
    assert blocked.returncode != 0
    assert "config.py:1" in blocked.stderr


def test_a_secret_inside_a_notebook_cell_blocks_the_commit(hooked: Project) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f'api_token = "{GENERIC}"\nrun(api_token)')]
    blocked = commit(hooked.git, "explore.ipynb", nbformat.writes(nb))
    assert blocked.returncode != 0
    assert "explore.ipynb: cell 1 source, line 1" in blocked.stderr


def test_a_failing_chained_hook_fails_the_commit(project: Project) -> None:
    hook = project.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'team lint failed' >&2\nexit 3\n", encoding="utf-8")
    hook.chmod(0o755)
    install_hooks(project.git)
    blocked = commit(project.git, "clean.py", "x = 1\n")
    assert blocked.returncode != 0
    assert "team lint failed" in blocked.stderr


def test_push_checks_new_branch_names(hooked: Project) -> None:
    git = hooked.git
    git.run("checkout", "--quiet", "-b", "wip")
    assert commit(git, "a.py", "a = 1\n").ok
    bad = push(git, "wip")
    assert bad.returncode != 0
    assert "The branch name 'wip' breaks the naming conventions" in bad.stderr
    assert "git branch -m wip feature/" in bad.stderr
    assert not remote_has(hooked, "wip")
    git.run("branch", "-m", "wip", "feature/add-augmentation")
    good = push(git, "feature/add-augmentation")
    assert good.ok, good.stderr
    assert remote_has(hooked, "feature/add-augmentation")


def test_direct_pushes_to_main_and_develop_are_refused_unless_allowed(hooked: Project) -> None:
    git = hooked.git
    git.run("checkout", "--quiet", "develop")
    assert commit(git, "b.py", "b = 1\n").ok
    refused = push(git, "develop")
    assert refused.returncode != 0
    assert "You may not push directly to 'develop'" in refused.stderr
    deleting = push(git, ":main")
    assert "You may not delete 'main'" in deleting.stderr
    assert remote_has(hooked, "main")
    allowed = push(git, "develop", TORCHLANE_ALLOW_PUSH="1")
    assert allowed.ok, allowed.stderr
    assert "allowed by TORCHLANE_ALLOW_PUSH=1" in allowed.stderr


def test_release_managers_listed_in_the_config_may_push_directly(hooked: Project) -> None:
    git = hooked.git
    git.run("checkout", "--quiet", "develop")
    config = git.cwd / ".torchlane.toml"  # where `torchlane init` put the settings
    text = config.read_text(encoding="utf-8")
    text += '\n[hooks]\nallow_direct_push = ["Test@Example.com"]\n'
    assert commit(git, ".torchlane.toml", text).ok
    allowed = push(git, "develop")
    assert allowed.ok, allowed.stderr
    assert "allowed for test@example.com (allow_direct_push)" in allowed.stderr


def test_outgoing_commits_with_secrets_are_refused(hooked: Project) -> None:
    git = hooked.git
    git.run("checkout", "--quiet", "-b", "feature/tune-learning-rate")
    (git.cwd / "tune.py").write_text(f"# key {HF}\n", encoding="utf-8")
    git.run("add", "tune.py")
    git.run("commit", "--quiet", "--no-verify", "-m", "Tune")  # skipped the pre-commit hook
    sha = git.out("rev-parse", "HEAD")
    refused = push(git, "feature/tune-learning-rate")
    assert refused.returncode != 0
    assert f"{sha[:12]} tune.py:1:7: Hugging Face access token" in refused.stderr
    assert not remote_has(hooked, "feature/tune-learning-rate")


def test_chained_pre_push_gets_the_same_arguments_and_stdin(
    project: Project, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    hook = project.root / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f'#!/bin/sh\necho "$@" > "{log}.args"\ncat > "{log}.stdin"\nexit 0\n', encoding="utf-8"
    )
    hook.chmod(0o755)
    install_hooks(project.git)
    git = project.git
    git.run("checkout", "--quiet", "-b", "feature/add-metrics")
    assert commit(git, "m.py", "m = 1\n").ok
    sha = git.out("rev-parse", "HEAD")
    assert push(git, "feature/add-metrics").ok
    assert Path(f"{log}.args").read_text(encoding="utf-8").split() == [
        "origin",
        str(project.origin),
    ]
    line = Path(f"{log}.stdin").read_text(encoding="utf-8").strip()
    assert line == f"refs/heads/feature/add-metrics {sha} refs/heads/feature/add-metrics {'0' * 40}"


def test_a_missing_python_gives_a_clear_message(project: Project, tmp_path: Path) -> None:
    install_hooks(project.git, python=str(tmp_path / "gone" / "bin" / "python"))
    blocked = commit(project.git, "x.py", "x = 1\n")
    assert blocked.returncode != 0
    assert "the Python it was installed with is gone" in blocked.stderr
    assert "torchlane hooks install" in blocked.stderr


def _notebook_with_outputs() -> str:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('trained')", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("stream", text="trained\n")]
    nb.cells = [cell]
    return str(nbformat.writes(nb))


@pytest.fixture
def absolute_pythonpath(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import torchlane

    source = str(Path(torchlane.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]))


@pytest.mark.usefixtures("absolute_pythonpath")
def test_hooks_and_filter_together_commit_stripped_and_keep_outputs(hooked: Project, cli) -> None:
    git = hooked.git
    assert cli(["nb", "install-filter", "--repo", str(git.cwd)]).code == 0
    text = _notebook_with_outputs()
    done = commit(git, "explore.ipynb", text)
    assert done.ok, done.stderr  # the hook checks the staged (stripped) blob, not the file
    assert (git.cwd / "explore.ipynb").read_text(encoding="utf-8") == text
    assert "trained\\n" not in git.run("show", "HEAD:explore.ipynb").stdout
    assert "explore.ipynb" not in git.out("status", "--porcelain")


@pytest.mark.usefixtures("absolute_pythonpath")
def test_notebook_hook_hint_never_suggests_wiping_outputs_when_the_filter_is_installed(
    hooked: Project, cli
) -> None:
    git = hooked.git
    (git.cwd / "explore.ipynb").write_text(_notebook_with_outputs(), encoding="utf-8")
    git.run("add", "explore.ipynb")  # staged before the filter was installed: with outputs
    assert cli(["nb", "install-filter", "--repo", str(git.cwd)]).code == 0
    blocked = git.run("commit", "--quiet", "-m", "notebook", check=False)
    assert blocked.returncode != 0
    assert "explore.ipynb: staged with outputs" in blocked.stderr
    assert "git add --renormalize -- explore.ipynb" in blocked.stderr
    assert "nb strip" not in blocked.stderr
    git.run("add", "--renormalize", "--", "explore.ipynb")
    assert git.run("commit", "--quiet", "-m", "notebook", check=False).ok
    assert "trained" in (git.cwd / "explore.ipynb").read_text(encoding="utf-8")


def test_without_the_filter_a_notebook_with_outputs_is_refused_with_both_fixes(
    hooked: Project,
) -> None:
    blocked = commit(hooked.git, "explore.ipynb", _notebook_with_outputs())
    assert blocked.returncode != 0
    assert "commit refused (notebooks)" in blocked.stderr
    assert "torchlane nb install-filter" in blocked.stderr
    assert "keeps the outputs in your files" in blocked.stderr


def test_a_pyproject_commit_with_nothing_to_check_prints_nothing_about_environments(
    hooked: Project,
) -> None:
    git = hooked.git
    pyproject = git.cwd / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    done = commit(git, "pyproject.toml", text + "\n# a comment\n")
    assert done.ok, done.stderr
    assert "file(s) checked" not in done.stdout + done.stderr


def test_hooks_start_without_site_and_still_reach_pydantic(hooked: Project) -> None:
    """Installed by this interpreter, the hooks run `python -S` with torchlane's root and the
    site-packages on PYTHONPATH: a settings-snapshot miss, which validates with pydantic, works."""
    git = hooked.git
    hook = (git.git_path("hooks") / "pre-commit").read_text(encoding="utf-8")
    assert '"$python" -S -c' in hook
    for cached in (git.git_dir() / "torchlane").glob("*settings.marshal"):
        cached.unlink()
    settings = git.cwd / ".torchlane.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    done = commit(git, "requirements.txt", "numpy==1.26.4\n")
    assert done.returncode == 0, done.stderr
    assert list((git.git_dir() / "torchlane").glob("*settings.marshal"))


def test_hooks_for_another_interpreter_keep_site(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "other" / "bin" / "python"
    install_hooks(project.git, python=str(other))
    hook = (project.git.git_path("hooks") / "pre-commit").read_text(encoding="utf-8")
    assert '"$python" -c' in hook
    assert " -S " not in hook
