from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from torchlane.cluster.settings import LABEL_VALUE
from torchlane.cluster.target import label_value, without_password


@given(st.text(max_size=120))
def test_branch_labels_are_valid_label_values(branch: str) -> None:
    value = label_value(branch)
    if value is not None:
        assert len(value) <= 63
        assert LABEL_VALUE.fullmatch(value)


def test_branch_label_examples() -> None:
    assert label_value("feature/resnet-depth") == "feature-resnet-depth"
    assert label_value("release/1.2.0") == "release-1.2.0"
    assert label_value("///") is None


@given(
    user=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_", min_size=1, max_size=12),
    token=st.text(
        alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=8, max_size=40
    ),
    port=st.one_of(st.none(), st.integers(1, 65535)),
)
def test_no_password_survives(user: str, token: str, port: int | None) -> None:
    where = "git.example.com" + (f":{port}" if port else "")
    url = f"https://{user}:{quote(token, safe='')}@{where}/org/repo.git"
    cleaned = without_password(url)
    assert cleaned == f"https://{user}@{where}/org/repo.git"


def test_urls_without_password_are_kept() -> None:
    for url in (
        "git@github.com:org/repo.git",
        "https://github.com/org/repo.git",
        "ssh://git@host:2222/org/repo.git",
        "/srv/git/repo.git",
    ):
        assert without_password(url) == url
    assert without_password("https://u:p@[::1]:8443/r.git") == "https://u@[::1]:8443/r.git"
