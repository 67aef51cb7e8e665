"""`torchlane publish`: push the current branch with upstream tracking and print the pull-request URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode, urlsplit

from torchlane.errors import TorchlaneError
from torchlane.flow.journal import require_no_operation
from torchlane.git import failure_detail, push_rejections
from torchlane.project import Project

# Written by hand: no maintained library maps a git remote to a forge's web pages. giturlparse
# exists but is unmaintained and does not know GitLab subgroups.
_SCP_LIKE = re.compile(r"(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:]+):(?P<path>[^/].*)")
_URL_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git", "https", "http", "git"})
# Hosts git is reached at that differ from the host serving the web pages.
_WEB_HOST = {"ssh.github.com": "github.com", "altssh.gitlab.com": "gitlab.com"}


Forge = Literal["github", "gitlab"]  # the platforms torchlane writes CI and protection for


@dataclass(frozen=True)
class ForgeRepo:
    forge: Forge
    web_root: str  # https://host[:port]/owner/repo, no credentials
    path: str  # owner/repo (GitLab: group/subgroup/repo)


def forge_of(host: str) -> Forge | None:
    host = host.lower()
    if "gitlab" in host:
        return "gitlab"
    if host == "github.com" or host.endswith(".github.com") or "github" in host.split(".")[0]:
        return "github"
    return None


def parse_remote_url(url: str) -> ForgeRepo | None:
    """The forge repository a git remote URL points at; None for local paths and unknown hosts."""
    url = url.strip()
    scheme = "ssh"
    port: int | None = None
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
            return None
        scheme, host, path = parts.scheme.lower(), parts.hostname, parts.path
        try:
            port = parts.port
        except ValueError:
            return None
    else:
        match = _SCP_LIKE.fullmatch(url)
        if match is None:
            return None
        host, path = match.group("host"), match.group("path")
    host = _WEB_HOST.get(host.lower(), host.lower())
    forge = forge_of(host)
    path = path.strip("/").removesuffix(".git").strip("/")
    segments = [s for s in path.split("/") if s]
    if forge is None or len(segments) < 2 or (forge == "github" and len(segments) != 2):
        return None
    web_scheme = "http" if scheme == "http" else "https"
    netloc = host if port is None or web_scheme != scheme else f"{host}:{port}"
    clean = "/".join(segments)
    return ForgeRepo(forge, f"{web_scheme}://{netloc}/{clean}", clean)


def pull_request_url(remote_url: str, branch: str, base: str) -> str | None:
    repo = parse_remote_url(remote_url)
    if repo is None:
        return None
    if repo.forge == "github":
        return (
            f"{repo.web_root}/compare/{quote(base, safe='/')}...{quote(branch, safe='/')}?expand=1"
        )
    query = urlencode(
        [("merge_request[source_branch]", branch), ("merge_request[target_branch]", base)],
        safe="/[]",
        quote_via=quote,
    )
    return f"{repo.web_root}/-/merge_requests/new?{query}"


@dataclass(kw_only=True)
class PublishResult:
    branch: str
    remote: str
    base: str
    upstream: str
    url: str | None
    forge: Forge | None
    note: str | None = None


def _without_credentials(url: str) -> str:
    return re.sub(r"://[^@/]+@", "://", url)


def publish_branch(ctx: Project) -> PublishResult:
    git, remote = ctx.git, ctx.config.flow.remote
    require_no_operation(git, "publish")
    branch = git.current_branch()
    if branch is None:
        raise TorchlaneError(
            "HEAD is detached, so there is no branch to publish.",
            "Switch to your branch first (`git switch feature/<name>`).",
        )
    parsed = ctx.parse(branch)
    if parsed is None or branch in (ctx.main, ctx.develop):
        raise TorchlaneError(
            f"'{branch}' is not a feature, bugfix, refactor, release or hotfix branch; publish "
            "opens pull requests for those.",
            "Push long-lived branches with `git push`; rename others with `git branch -m`.",
        )
    remote_url = git.remote_url(remote)
    if remote_url is None:
        raise TorchlaneError(
            f"There is no remote '{remote}' to publish to.",
            f"Add it with `git remote add {remote} URL`, or set [tool.torchlane.flow] remote.",
        )
    pushed = git.push(remote, f"{branch}:{branch}", options=["--set-upstream"], check=False)
    if not pushed.ok:
        detail = failure_detail(pushed)
        rejected = push_rejections(pushed)
        hint = "Check your network and credentials."
        if any(r.stale for r in rejected):
            hint = (
                f"{remote}/{branch} has commits you do not have: `git pull --rebase {remote} "
                f"{branch}`, or after `torchlane sync`, `git push --force-with-lease`."
            )
        elif any(r.by_remote for r in rejected):
            reasons = ", ".join(dict.fromkeys(r.reason for r in rejected if r.by_remote))
            hint = (
                f"{remote} refused the push ({reasons}); its reason is the `remote:` part of "
                "the message. Do what it asks (e.g. rename the branch or fix the commits), then "
                "publish again."
            )
        raise TorchlaneError(f"Pushing '{branch}' to {remote} failed: {detail}", hint)
    base = ctx.main if parsed.type.is_versioned else ctx.develop
    repo = parse_remote_url(remote_url)
    url = pull_request_url(remote_url, branch, base)
    note = None
    if url is None:
        note = (
            f"{_without_credentials(remote_url)} is not a GitHub or GitLab repository torchlane "
            f"recognises; open the pull request from '{branch}' into '{base}' in its web page."
        )
    return PublishResult(
        branch=branch,
        remote=remote,
        base=base,
        upstream=f"{remote}/{branch}",
        url=url,
        forge=repo.forge if repo else None,
        note=note,
    )
