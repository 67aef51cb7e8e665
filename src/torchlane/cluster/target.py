"""The commit a cluster job runs, and the repository the cluster clones it from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from torchlane.cluster.settings import LABEL_VALUE, local_url
from torchlane.config.source import read_toml
from torchlane.errors import TorchlaneError
from torchlane.project import Project


@dataclass(frozen=True)
class Target:
    """What a job runs: a commit of a repository the cluster can clone."""

    commit: str
    branch: str | None
    repository: str  # the remote's URL, without any password
    project: str  # DNS-1035 label naming the project in job names


def label_value(text: str) -> str | None:
    """The closest valid label value (branch 'feature/x' -> 'feature-x'), or None."""
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63].strip("-_.")
    return value if value and LABEL_VALUE.fullmatch(value) else None


def without_password(url: str) -> str:
    """A remote URL may carry a token (https://user:TOKEN@host/...); manifests never do."""
    parts = urlsplit(url)
    if parts.password is None or parts.hostname is None:
        return url
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def project_name(root: Path) -> str:
    """The project's name: `[project] name` of pyproject.toml, else the repository's folder (the
    remote's folder is often a mirror's or a fork's, 'origin' or 'upstream')."""
    path = root / "pyproject.toml"
    try:
        document = read_toml(path) if path.is_file() else {}
    except (OSError, TorchlaneError):  # the settings loader has said what is wrong with it
        return root.name
    project = document.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) and name.strip() else root.name


def project_label(name: str) -> str:
    """A project's name as a DNS-1035 label, for job names."""
    name = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = f"tl-{name}".rstrip("-")
    return name[:24].rstrip("-")


def resolve_target(ctx: Project, rev: str, allow_dirty: bool) -> Target:
    git = ctx.git
    commit = git.rev(f"{rev}^{{commit}}")
    if commit is None:
        raise TorchlaneError(
            f"'{rev}' does not name a commit in this repository.",
            "Pass a branch, tag or commit with --rev (default: HEAD).",
        )
    if not allow_dirty and git.dirty_paths():
        raise TorchlaneError(
            "Tracked files have uncommitted changes; the cluster runs the committed code only.",
            "Commit (and push) your changes, or pass --allow-dirty to render the commit as it is.",
        )
    remote = ctx.config.flow.remote
    remote_url = git.remote_url(remote)
    if remote_url is None:
        raise TorchlaneError(
            f"There is no remote named '{remote}' for the cluster to clone from.",
            "Add it with `git remote add`, or set [tool.torchlane.flow] remote.",
        )
    url = ctx.config.cluster.repository or remote_url
    if local_url(url):
        table = ".".join(filter(None, [ctx.loaded.table, "cluster"]))
        raise TorchlaneError(
            f"The remote '{remote}' is a path on this machine ({url}), which a cluster's pods "
            "cannot clone.",
            f'Set repository = "https://host/org/repo.git" in [{table}] to the URL the cluster '
            f"reaches, or point '{remote}' at it with `git remote set-url {remote} URL`.",
        )
    if not git.refs_containing(commit, f"refs/remotes/{remote}/"):
        raise TorchlaneError(
            f"Commit {commit[:12]} is not on '{remote}' (as far as this clone knows); "
            "the cluster could not fetch it.",
            "Push it first (`torchlane publish` or `git push`), or `git fetch` if it is "
            "there already.",
        )
    branch = git.current_branch() if rev == "HEAD" else None
    if branch is None and git.ref_value(f"refs/heads/{rev}") is not None:
        branch = rev
    return Target(commit, branch, without_password(url), project_label(project_name(ctx.root)))
