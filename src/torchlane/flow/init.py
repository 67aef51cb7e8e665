"""`torchlane init`: adopt the branch model in a new or existing repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from torchlane.config.load import load_config
from torchlane.config.source import FALLBACK_FILE, PYPROJECT, find_config_source
from torchlane.errors import TorchlaneError
from torchlane.flow.journal import require_no_operation
from torchlane.git import NO_OBJECT, Git
from torchlane.project import Project


@dataclass(kw_only=True)
class InitResult:
    root: Path
    main: str
    develop: str
    config_path: Path
    adopted_at: str
    actions: list[str] = field(default_factory=list)
    committed: bool = False
    next_commands: list[str] = field(default_factory=list)


def _ensure_repository(path: Path, actions: list[str]) -> Git:
    probe = Git(path)
    if probe.work_tree_root() is None:
        probe.init(initial_branch="main")
        actions.append(f"created a git repository in {path}")
    return Git(probe.toplevel())


def _choose_main(git: Git, wanted: str, configured: bool) -> str:
    """The configured main branch, or `master` when a repository uses that and nothing is set."""
    if git.branch_exists(wanted) or configured:
        return wanted
    if wanted == "main" and git.branch_exists("master"):
        return "master"
    return wanted


def _create_root_commit(git: Git, main: str, actions: list[str]) -> None:
    # Built with plumbing so that anything the user already staged stays staged, uncommitted.
    empty_tree = git.run("hash-object", "-t", "tree", "--stdin", input="").stdout.strip()
    commit = git.out("commit-tree", empty_tree, "-m", "Initial commit")
    git.set_ref(f"refs/heads/{main}", commit, expected=NO_OBJECT)
    git.run("symbolic-ref", "HEAD", f"refs/heads/{main}")
    actions.append(f"created the initial commit on '{main}'")


def _render_config(
    existing_text: str | None, settings: dict[str, dict[str, str]], in_pyproject: bool
) -> str:
    """Sets only our keys, keeping every other line, comment and setting of the file."""
    document = tomlkit.parse(existing_text) if existing_text else tomlkit.document()
    container: Any = document
    if in_pyproject:
        if "tool" not in document:
            document.add("tool", tomlkit.table(is_super_table=True))
        tool: Any = document["tool"]
        if "torchlane" not in tool:
            tool.add("torchlane", tomlkit.table(is_super_table=True))
        container = tool["torchlane"]
    for section, values in settings.items():
        if section not in container:
            container.add(section, tomlkit.table())
        for key, value in values.items():
            container[section][key] = value
    return tomlkit.dumps(document)


def _scaffold(
    git: Git, target: Path, raw: dict[str, Any], *, hooks: bool, notebook_filter: bool
) -> tuple[list[str], list[str]]:
    """Adds what an existing repository lacks; returns (actions, work-tree files changed)."""
    from torchlane.flow.scaffold import GITIGNORE, scaffold_eval, scaffold_gitignore

    root = git.cwd
    actions: list[str] = []
    changed: list[str] = []
    if scaffold_eval(root, target, has_eval=isinstance(raw.get("eval"), dict)):
        actions.append(f"added a commented eval section to {target.name}")
        changed.append(str(target.relative_to(root)))
    missing = scaffold_gitignore(root)
    if missing:
        actions.append(f"added {', '.join(missing)} to {GITIGNORE}")
        changed.append(GITIGNORE)
    if hooks:
        from torchlane.hooks.install import install_hooks

        result = install_hooks(git)
        actions += [f"{hook.action} the {hook.hook} hook" for hook in result.changes]
    if notebook_filter:
        from torchlane.notebooks.install import install_filter
        from torchlane.notebooks.options import options_from_settings

        section = raw.get("notebooks")
        before = (
            (root / ".gitattributes").read_bytes() if (root / ".gitattributes").is_file() else None
        )
        filter_change = install_filter(
            root, "local", options_from_settings(section if isinstance(section, dict) else {})
        )
        actions.extend(filter_change.actions)
        actions += [f"warning: {warning}" for warning in filter_change.warnings]
        after = (
            (root / ".gitattributes").read_bytes() if (root / ".gitattributes").is_file() else None
        )
        if after != before:
            changed.append(".gitattributes")
    return actions, changed


def _unstripped_notebooks(git: Git) -> list[str]:
    """Committed notebooks whose stripped form differs from what is committed: with the filter on
    they read as modified as soon as git looks at them again."""
    staged = [line.split(maxsplit=3) for line in git.lines("ls-files", "-s", "--", "*.ipynb")]
    if not staged:
        return []
    paths = [entry[3] for entry in staged]
    stripped = git.lines("hash-object", "--", *paths)  # through the clean filter, as `git add`
    unstripped = [p for (_m, blob, _s, p), new in zip(staged, stripped, strict=True) if blob != new]
    if not unstripped:
        return []
    return [
        f"warning: {len(unstripped)} committed notebook(s) are not stripped; commit them "
        "stripped with `git add --renormalize -- '*.ipynb' && git commit`"
    ]


def _write_settings(root: Path, target: Path, settings: dict[str, dict[str, str]]) -> list[str]:
    existing = target.read_text(encoding="utf-8") if target.is_file() else None
    target.write_text(
        _render_config(existing, settings, in_pyproject=target.name == PYPROJECT), encoding="utf-8"
    )
    load_config(root)  # what we wrote must read back
    actions = [f"wrote the configuration to {target.name}"]
    if target.name == PYPROJECT and (root / FALLBACK_FILE).is_file():
        actions.append(
            f"warning: {FALLBACK_FILE} holds no settings and is not read; delete it so that "
            f"settings go to one place ({PYPROJECT})"
        )
    return actions


def _next_commands(develop: str, config_name: str, hooks: bool) -> list[str]:
    # The pre-push hook refuses direct pushes to develop; its first push is the adoption itself.
    allow = "TORCHLANE_ALLOW_PUSH=1 " if hooks else ""
    return [
        f"$EDITOR {config_name}   # fill in the eval section, then commit it on '{develop}'",
        "torchlane eval   # evaluate develop: the baseline the merge gate compares against",
        f"{allow}git push -u origin {develop} && torchlane metrics push   # share both",
    ]


def init_repository(
    path: Path,
    *,
    commit: bool = True,
    force: bool = False,
    hooks: bool = False,
    notebook_filter: bool = False,
) -> InitResult:
    actions: list[str] = []
    git = _ensure_repository(path.resolve(), actions)
    root = git.cwd
    require_no_operation(git, "init")
    config_path, _table, raw = find_config_source(root)
    has_config = config_path is not None
    loaded = load_config(root)  # validates an existing configuration before we touch anything
    config = loaded.config
    if commit and not git.is_empty():
        Project(git, root, loaded).require_clean("set up the branch model")

    branches_table = raw.get("branches")
    configured = isinstance(branches_table, dict) and "main" in branches_table
    main = _choose_main(git, config.branches.main, configured=configured)
    develop = config.branches.develop
    if git.is_empty():
        _create_root_commit(git, main, actions)
    elif not git.branch_exists(main):
        raise TorchlaneError(
            f"The repository has commits but no branch '{main}'.",
            f"Create it (`git branch {main} <commit>`) or set [tool.torchlane.branches] main.",
        )
    main_sha = git.resolve(f"refs/heads/{main}")
    if not git.branch_exists(develop):
        remote_develop = f"refs/remotes/{config.flow.remote}/{develop}"
        start_point = remote_develop if git.ref_value(remote_develop) else f"refs/heads/{main}"
        git.create_branch(develop, start_point)
        actions.append(f"created '{develop}' from '{start_point.split('/', 2)[-1]}'")

    target = config_path or (
        root / PYPROJECT if (root / PYPROJECT).is_file() else root / FALLBACK_FILE
    )
    adopted_at = config.flow.adopted_at or main_sha

    def finished(*, committed: bool) -> InitResult:
        if notebook_filter:
            actions.extend(_unstripped_notebooks(git))
        return InitResult(
            root=root,
            main=main,
            develop=develop,
            config_path=target,
            adopted_at=adopted_at,
            actions=actions,
            committed=committed,
            next_commands=_next_commands(develop, target.name, hooks),
        )

    if has_config and not force:
        actions.append(
            f"kept the existing configuration in {target.name} (use --force to rewrite it)"
        )
        added, changed = _scaffold(git, target, raw, hooks=hooks, notebook_filter=notebook_filter)
        actions += added
        if changed:
            actions.append(f"left {', '.join(changed)} uncommitted for you to review")
        return finished(committed=False)

    if commit and git.current_branch() != develop:
        git.run("checkout", "--quiet", develop)
        actions.append(f"checked out '{develop}'")
    settings: dict[str, dict[str, str]] = {
        "branches": {"main": main, "develop": develop},
        "flow": {"version_tag_prefix": config.flow.version_tag_prefix, "adopted_at": adopted_at},
    }
    actions += _write_settings(root, target, settings)
    added, changed = _scaffold(git, target, raw, hooks=hooks, notebook_filter=notebook_filter)
    load_config(root)  # the scaffold is comments and ignore lines: it must still read back
    actions += added
    if commit:
        relative = str(target.relative_to(root))
        paths = list(dict.fromkeys([relative, *changed]))
        git.add(*paths)
        git.commit("Adopt the torchlane branch model", paths=paths, verify=False)
        actions.append(f"committed {', '.join(paths)} on '{develop}'")
    return finished(committed=commit)
