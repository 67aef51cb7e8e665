"""The outputs store on its own: one pack file per filter process, read back by later processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notebooks import samples
from torchlane.notebooks import kept_outputs
from torchlane.notebooks.options import StripOptions
from torchlane.notebooks.strip import strip_bytes

OPTIONS = StripOptions()


def _original(text: str = "hello") -> tuple[bytes, bytes]:
    notebook = samples.session_notebook()
    notebook["cells"][0]["source"] = [text]
    original = samples.dump(notebook).encode("utf-8")
    return original, strip_bytes(original, OPTIONS)


def _new_process() -> None:
    """What a new filter process starts with: no writer, no index read yet."""
    kept_outputs._WRITERS.clear()
    kept_outputs._INDEXES.clear()


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[str]:
    _new_process()
    yield str(tmp_path / "nb-outputs")
    _new_process()


def _packs(folder: str) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(kept_outputs.PACK_PREFIX))


def test_one_pack_per_process_and_another_process_reads_it(folder: str) -> None:
    kept = [_original(f"cell {n}") for n in range(20)]
    for number, (original, stripped) in enumerate(kept):
        kept_outputs.remember(folder, f"nb{number}.ipynb", original, stripped)
    assert len(os.listdir(folder)) == 1  # twenty notebooks, one file, no temporary files
    _new_process()
    for number, (original, stripped) in enumerate(kept):
        assert kept_outputs.restore(folder, f"nb{number}.ipynb", stripped, OPTIONS) == original
    unknown = _original("never kept")[1]
    assert kept_outputs.restore(folder, "other.ipynb", unknown, OPTIONS) == unknown


def test_the_latest_original_wins_across_packs(folder: str) -> None:
    first, stripped = _original()
    kept_outputs.remember(folder, "a.ipynb", first, stripped)
    _new_process()
    later = first.replace(b"warning: slow", b"warning: fast")  # other outputs, same stripped form
    assert strip_bytes(later, OPTIONS) == stripped
    kept_outputs.remember(folder, "a.ipynb", later, stripped)
    assert len(_packs(folder)) == 2
    _new_process()
    assert kept_outputs.restore(folder, "a.ipynb", stripped, OPTIONS) == later


def test_keeping_the_same_original_again_writes_nothing(folder: str) -> None:
    original, stripped = _original()
    kept_outputs.remember(folder, "a.ipynb", original, stripped)
    (pack,) = _packs(folder)
    size = os.path.getsize(os.path.join(folder, pack))
    _new_process()
    kept_outputs.remember(folder, "a.ipynb", original, stripped)
    kept_outputs.remember(folder, "a.ipynb", original, stripped)
    assert _packs(folder) == [pack]  # no second pack: nothing new to keep
    assert os.path.getsize(os.path.join(folder, pack)) == size


def test_a_record_cut_short_is_ignored_and_the_ones_before_it_are_read(folder: str) -> None:
    whole, whole_stripped = _original("whole")
    cut, cut_stripped = _original("cut")
    kept_outputs.remember(folder, "whole.ipynb", whole, whole_stripped)
    kept_outputs.remember(folder, "cut.ipynb", cut, cut_stripped)
    (pack,) = _packs(folder)
    path = os.path.join(folder, pack)
    os.truncate(path, os.path.getsize(path) - 10)  # a writer killed in the middle of a record
    _new_process()
    assert kept_outputs.restore(folder, "whole.ipynb", whole_stripped, OPTIONS) == whole
    assert kept_outputs.restore(folder, "cut.ipynb", cut_stripped, OPTIONS) == cut_stripped


def test_a_store_written_before_packs_is_still_read(folder: str) -> None:
    original, stripped = _original()
    os.makedirs(folder)
    key = kept_outputs._digest(stripped)
    Path(folder, key).write_bytes(original)
    Path(folder, "path-" + kept_outputs._digest(b"a.ipynb")).write_text(key, encoding="ascii")
    assert kept_outputs.restore(folder, "a.ipynb", stripped, OPTIONS) == original
    # A changed cell elsewhere: the path's latest outputs go back into the unchanged cells.
    edited = stripped.replace(b'"hello"', b'"hello again"')
    restored = kept_outputs.restore(folder, "a.ipynb", edited, OPTIONS)
    assert restored != edited
    assert strip_bytes(restored, OPTIONS) == edited


def test_the_oldest_packs_go_when_the_others_hold_too_many_records(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept_outputs, "MAX_ENTRIES", 4)
    for process in range(4):
        _new_process()
        for number in range(3):
            original, stripped = _original(f"process {process} cell {number}")
            kept_outputs.remember(folder, f"p{process}-{number}.ipynb", original, stripped)
    # Each new pack removed the oldest ones while those before it held more than 4 records.
    assert len(_packs(folder)) == 2
    _new_process()
    newest, newest_stripped = _original("process 3 cell 2")
    assert kept_outputs.restore(folder, "p3-2.ipynb", newest_stripped, OPTIONS) == newest
    oldest_stripped = _original("process 0 cell 0")[1]
    assert kept_outputs.restore(folder, "p0-0.ipynb", oldest_stripped, OPTIONS) == oldest_stripped


def test_a_store_that_cannot_be_written_keeps_nothing_and_fails_nothing(folder: str) -> None:
    # A file where the folder should be: what a read-only git directory gives, even as root.
    Path(folder).write_bytes(b"")
    original, stripped = _original()
    kept_outputs.remember(folder, "a.ipynb", original, stripped)
    assert kept_outputs.restore(folder, "a.ipynb", stripped, OPTIONS) == stripped
    assert Path(folder).read_bytes() == b""


def test_one_process_keeping_many_notebooks_keeps_a_bounded_store(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept_outputs, "MAX_ENTRIES", 4)
    kept = [_original(f"cell {n}") for n in range(10)]
    for number, (original, stripped) in enumerate(kept):
        kept_outputs.remember(folder, f"nb{number}.ipynb", original, stripped)
    # Packs of 4, 4 and 2 records; starting the third removed the first.
    assert len(_packs(folder)) == 2
    for number in (0, 3):
        stripped = kept[number][1]
        assert kept_outputs.restore(folder, f"nb{number}.ipynb", stripped, OPTIONS) == stripped
    for number in range(4, 10):
        original, stripped = kept[number]
        assert kept_outputs.restore(folder, f"nb{number}.ipynb", stripped, OPTIONS) == original


def test_another_original_of_the_same_length_in_the_same_process_is_kept(folder: str) -> None:
    first, stripped = _original()
    later = first.replace(b"warning: slow", b"warning: fast")  # same length, same stripped form
    kept_outputs.remember(folder, "a.ipynb", first, stripped)
    kept_outputs.remember(folder, "a.ipynb", later, stripped)
    _new_process()
    assert kept_outputs.restore(folder, "a.ipynb", stripped, OPTIONS) == later


def test_a_pack_written_with_the_original_s_sha1_is_read_and_not_written_again(
    folder: str,
) -> None:
    """Records written before the `-` field held the original's sha1 there."""
    original, stripped = _original()
    key = kept_outputs._digest(stripped)
    header = f"TLNB1 {key} {kept_outputs._digest(b'a.ipynb')} {kept_outputs._digest(original)} "
    os.makedirs(folder)
    old_pack = os.path.join(folder, kept_outputs.PACK_PREFIX + "0" * 20 + "-1-0")
    Path(old_pack).write_bytes(f"{header}{len(original)}\n".encode() + original)
    assert kept_outputs.restore(folder, "a.ipynb", stripped, OPTIONS) == original
    _new_process()
    kept_outputs.remember(folder, "a.ipynb", original, stripped)
    assert _packs(folder) == [os.path.basename(old_pack)]  # already kept: nothing written
