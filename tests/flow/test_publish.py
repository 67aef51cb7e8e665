"""`torchlane publish`: pull-request URLs derived from remote URLs, and a real push with upstream."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import commit_file
from tests.flow.finish_helpers import start
from torchlane.flow.publish import parse_remote_url, pull_request_url

GH = "https://github.com/acme/vision/compare/develop...feature/add-mixup?expand=1"
GL_QUERY = "merge_request[source_branch]=feature/add-mixup&merge_request[target_branch]=develop"


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("git@github.com:acme/vision.git", GH),
        ("git@github.com:acme/vision", GH),
        ("ssh://git@github.com/acme/vision.git", GH),
        ("ssh://git@ssh.github.com:443/acme/vision.git", GH),
        ("https://github.com/acme/vision.git", GH),
        ("https://github.com/acme/vision/", GH),
        ("https://user:token@github.com/acme/vision.git", GH),
        (
            "git@gitlab.com:ml/team/vision.git",
            f"https://gitlab.com/ml/team/vision/-/merge_requests/new?{GL_QUERY}",
        ),
        (
            "https://gitlab.com/ml/vision.git",
            f"https://gitlab.com/ml/vision/-/merge_requests/new?{GL_QUERY}",
        ),
        (
            "ssh://git@gitlab.example.org:2222/ml/vision.git",
            f"https://gitlab.example.org/ml/vision/-/merge_requests/new?{GL_QUERY}",
        ),
        (
            "https://gitlab.corp.internal:8443/ml/vision.git",
            f"https://gitlab.corp.internal:8443/ml/vision/-/merge_requests/new?{GL_QUERY}",
        ),
        ("git@bitbucket.org:acme/vision.git", None),
        ("https://example.com/acme/vision.git", None),
        ("/srv/git/vision.git", None),
        ("../origin.git", None),
        ("file:///srv/git/vision.git", None),
        ("git@github.com:vision.git", None),
    ],
)
def test_pull_request_url(remote: str, expected: str | None) -> None:
    assert pull_request_url(remote, "feature/add-mixup", "develop") == expected


_word = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,12}[a-z0-9]", fullmatch=True).filter(
    lambda w: ".." not in w and not w.endswith(".git")
)
_branch = st.lists(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_+#%&=-]{0,10}", fullmatch=True), min_size=1, max_size=3
).map("/".join)


@pytest.mark.slow
@given(
    owner=_word,
    repo=_word,
    branch=_branch,
    base=st.sampled_from(["develop", "main"]),
    form=st.sampled_from(["scp", "ssh", "https"]),
    host=st.sampled_from(["github.com", "gitlab.com", "gitlab.example.org"]),
)
def test_urls_carry_the_branches_back_exactly(*, owner, repo, branch, base, form, host) -> None:
    remote = {
        "scp": f"git@{host}:{owner}/{repo}.git",
        "ssh": f"ssh://git@{host}/{owner}/{repo}.git",
        "https": f"https://{host}/{owner}/{repo}",
    }[form]
    url = pull_request_url(remote, branch, base)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname) == ("https", host)
    found = parse_remote_url(remote)
    assert found is not None
    assert found.path == f"{owner}/{repo}"
    if "github" in host:
        prefix = f"/{owner}/{repo}/compare/"
        assert parts.path.startswith(prefix)
        assert unquote(parts.path[len(prefix) :]) == f"{base}...{branch}"
        assert parts.query == "expand=1"
    else:
        assert parts.path == f"/{owner}/{repo}/-/merge_requests/new"
        query = parse_qs(parts.query, strict_parsing=True)
        assert query == {
            "merge_request[source_branch]": [branch],
            "merge_request[target_branch]": [base],
        }


def test_publish_pushes_with_upstream_and_names_an_unknown_host(project, cli) -> None:
    git = project.git
    branch = start(git, "feature", "add-mixup")
    tip = commit_file(git, "mixup.py", "ALPHA = 0.2\n")
    result = cli(["publish", "--json"], cwd=project.root)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["url"] is None
    assert "not a GitHub or GitLab repository" in data["note"]
    assert git.out("rev-parse", "--abbrev-ref", f"{branch}@{{upstream}}") == f"origin/{branch}"
    assert git.out("--git-dir", str(project.origin), "rev-parse", branch) == tip


@pytest.mark.parametrize(
    ("kind", "name", "base"), [("feature", "add-mixup", "develop"), ("hotfix", "1.0.1", "main")]
)
def test_publish_prints_the_github_url_against_the_right_base(project, cli, kind, name, base):
    git = project.git
    # Fetch URL names the forge; pushes go to the local bare origin.
    git.run("remote", "set-url", "origin", "git@github.com:acme/vision.git")
    git.run("remote", "set-url", "--push", "origin", str(project.origin))
    branch = start(git, kind, name)
    commit_file(git, "change.txt", "x\n")
    result = cli(["publish"], cwd=project.root)
    assert result.code == 0, result.err
    expected = f"https://github.com/acme/vision/compare/{base}...{branch}?expand=1"
    assert expected in result.out


def test_publish_refuses_long_lived_branches(project, cli) -> None:
    result = cli(["publish"], cwd=project.root)
    assert result.code == 1
    assert "git push" in result.err


def test_a_push_to_a_missing_remote_says_why(project, cli, tmp_path) -> None:
    git = project.git
    missing = tmp_path / "moved-away.git"
    git.run("remote", "set-url", "origin", str(missing))
    start(git, "feature", "add-mixup")
    commit_file(git, "mixup.py", "alpha = 0.2\n")
    result = cli(["publish"], cwd=project.root)
    assert result.code == 1
    assert f"'{missing}' does not appear to be a git repository" in result.err
    assert "failed: and the repository exists" not in result.err
