"""UTF-16, UTF-32, BOM-marked UTF-8 and text with NUL bytes are scanned; binaries are skipped,
and say so; a large index is read in batches; history counts the commits that hold secrets."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.conftest import commit_file
from torchlane.git import Git
from torchlane.secrets import sources
from torchlane.secrets.report import run_scan
from torchlane.secrets.scan import ScanSettings, Skipped, decode_text, scan_content

SETTINGS = ScanSettings()
HF = "hf_" + "QmZxWvUtSrQpOnMlKjIhGfEdCbAzYxWvUt"
GENERIC = "Zx9Qw3Er7Ty1Ui5Op2"  # torchlane: allow-secret
TEXT = f'# settings\r\napi_token = "{GENERIC}"\r\nhub = "{HF}"\r\n'
PACKED = random.Random(7).randbytes(20_000)  # what a checkpoint or an image looks like

Cli = Callable[..., Any]


@pytest.fixture
def repo(tmp_path: Path) -> Git:
    git = Git(tmp_path)
    git.run("init", "--quiet", "--initial-branch", "main")
    commit_file(git, "README.md", "# sample\n", "Initial commit")
    return git


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-16"),  # with a BOM, in the machine's order
        b"\xff\xfe" + TEXT.encode("utf-16-le"),
        b"\xfe\xff" + TEXT.encode("utf-16-be"),
        TEXT.encode("utf-16-le"),  # no BOM: told by where the NULs are
        TEXT.encode("utf-16-be"),
        TEXT.encode("utf-32"),
        b"\xef\xbb\xbf" + TEXT.encode(),
        TEXT.replace("# settings", "#\0settings\0\0").encode(),  # text with NUL bytes
    ],
    ids=[
        "utf-16",
        "utf-16-le-bom",
        "utf-16-be-bom",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "utf-8-bom",
        "nul",
    ],
)
def test_encoded_text_is_scanned_with_its_lines_and_columns(data: bytes) -> None:
    found = scan_content("settings.ps1", data, SETTINGS)
    assert isinstance(found, list)
    assert [(f.rule, f.line, f.column) for f in found] == [
        ("generic-secret", 2, 14),
        ("huggingface-token", 3, 8),
    ]


def test_binary_content_is_skipped_with_a_reason() -> None:
    assert decode_text(PACKED) is None
    assert scan_content("model.pt", PACKED, SETTINGS) == Skipped(path="model.pt", reason="binary")
    assert decode_text(b"\0" * 64) is None


@given(st.text(max_size=200))
def test_decoding_round_trips_every_encoding_with_a_bom(text: str) -> None:
    # FF FE 00 00 is UTF-32-LE's BOM: UTF-16-LE text cannot start with a NUL and be told apart.
    assume(not text.startswith("\0"))
    for codec, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        assert decode_text(bom + text.encode(codec, "surrogatepass")) == text.encode(
            codec, "surrogatepass"
        ).decode(codec, "replace")
    if "\0" not in text:
        assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")) == text.encode(
            "utf-8", "surrogatepass"
        ).decode("utf-8", "replace")


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1), st.data())
def test_nul_bytes_keep_every_other_character_in_place(text: str, data: st.DataObject) -> None:
    positions = data.draw(st.sets(st.integers(0, len(text) - 1), max_size=max(1, len(text) // 4)))
    raw = bytearray(text.encode())
    for position in positions:
        raw[position] = 0
    decoded = decode_text(bytes(raw))
    if decoded is None:
        assert len(positions) == len(text)  # nothing but NULs: nothing to read
        return
    assert len(decoded) == len(text)
    assert all(decoded[i] == (" " if i in positions else text[i]) for i in range(len(text)))


def test_staged_and_history_scans_read_utf16_files(repo: Git) -> None:
    (repo.cwd / "deploy.ps1").write_bytes(TEXT.encode("utf-16"))
    (repo.cwd / "model.pt").write_bytes(PACKED)
    repo.run("add", "deploy.ps1", "model.pt")
    staged = run_scan(repo, staged=True)
    assert sorted(f.rule for f in staged.findings) == ["generic-secret", "huggingface-token"]
    assert staged.skipped == [Skipped(path="model.pt", reason="binary")]
    repo.run("commit", "--quiet", "-m", "Deploy script")
    sha = repo.out("rev-parse", "HEAD")
    # git shows both as "Binary files ... differ": the history scan reads their new content.
    history = run_scan(repo, history=True)
    assert {(f.commit, f.path, f.line) for f in history.findings} == {
        (sha, "deploy.ps1", 2),
        (sha, "deploy.ps1", 3),
    }
    assert history.skipped == [Skipped(path="model.pt", reason="binary", commit=sha)]
    # A later change to the file does not report the secret again in that commit.
    (repo.cwd / "deploy.ps1").write_bytes((TEXT + "# more\r\n").encode("utf-16"))
    repo.run("commit", "--quiet", "-am", "More")
    assert {f.commit for f in run_scan(repo, history=True).findings} == {sha}


def test_the_index_is_read_in_batches(repo: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "BATCH_BYTES", 100)
    for n in range(30):
        (repo.cwd / f"f{n:02}.py").write_text(f"x = {n}\n" * 20, encoding="utf-8")
    (repo.cwd / "big.txt").write_text(f'api_token = "{GENERIC}"\n' + "#" * 5000, encoding="utf-8")
    (repo.cwd / "f29.py").write_text(f'hub = "{HF}"\n', encoding="utf-8")
    repo.run("add", ".")
    calls: list[tuple[str, ...]] = []
    real = Git.run_bytes

    def counting(self: Git, *args: str, input: bytes | None = None) -> bytes:
        calls.append(args)
        return real(self, *args, input=input)

    monkeypatch.setattr(Git, "run_bytes", counting)
    report = run_scan(repo, staged=True, settings=ScanSettings(max_file_bytes=4000))
    assert [(f.path, f.rule) for f in report.findings] == [("f29.py", "huggingface-token")]
    assert report.skipped == [Skipped(path="big.txt", reason="too large")]
    assert report.scanned == 30
    assert sum(1 for c in calls if c[:2] == ("cat-file", "--batch")) > 5


def test_cli_lists_skipped_files_and_counts_commits_holding_secrets(repo: Git, cli: Cli) -> None:
    (repo.cwd / "model.pt").write_bytes(PACKED)
    secrets = "\n".join(f'k{n}_token = "{GENERIC}{n}"' for n in range(5))
    commit_file(repo, "conf.py", secrets + "\n", "Add conf")
    commit_file(repo, "notes.md", "nothing here\n", "Notes")
    history = cli(["secrets", "scan", "--history"], cwd=repo.cwd)
    assert history.code == 1
    assert "5 secret(s) in 1 commit(s) (3 scanned)" in history.err
    plain = cli(["secrets", "scan"], cwd=repo.cwd)
    assert "5 secret(s) in 1 file(s) (3 scanned); 1 file(s) skipped (--verbose lists them)." in (
        plain.err
    )
    verbose = cli(["secrets", "scan", "--verbose"], cwd=repo.cwd)
    assert "skipped model.pt: binary" in verbose.out
    data = json.loads(cli(["secrets", "scan", "--json"], cwd=repo.cwd).out)
    assert data["skipped"] == [{"path": "model.pt", "reason": "binary", "commit": None}]


def test_a_staged_blob_over_the_limit_is_skipped_whatever_the_work_tree_says(repo: Git) -> None:
    (repo.cwd / "big.txt").write_text(f'api_token = "{GENERIC}"\n' + "#" * 5000, encoding="utf-8")
    repo.run("add", "big.txt")
    (repo.cwd / "big.txt").write_text("small now\n", encoding="utf-8")  # the hint is wrong
    report = run_scan(repo, staged=True, settings=ScanSettings(max_file_bytes=4000))
    assert report.findings == []
    assert report.skipped == [Skipped(path="big.txt", reason="too large")]
