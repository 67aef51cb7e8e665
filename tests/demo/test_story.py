"""`make demo` end to end: the whole story must run and leave its charts and logs behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchlane.demo.quality import PREPROCESSING_BUG


@pytest.mark.slow
def test_the_demo_tells_the_whole_story(tmp_path: Path) -> None:
    output = tmp_path / "demo-output"
    proc = subprocess.run(
        [sys.executable, "-m", "torchlane.demo"],
        cwd=tmp_path,
        env={**os.environ, "TORCHLANE_DEMO_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    story = proc.stdout
    # the improving feature passes, the broken one is stopped
    assert story.count("Gate passed") == 1
    assert story.count("Gate failed") == 1
    assert PREPROCESSING_BUG in story
    assert "Merge feature/wider-hidden-layer into develop" in story
    assert "Merge feature/normalise-pixels" not in story
    # a release with its tag, a hotfix into the open release, a history that follows the model
    assert "tag: v1.0.0" in story
    assert "merged main into release/v1.1.0" in story
    assert "the model was followed" in story
    # the release shipped its evaluated model: bound, uploaded, shown and pulled back verified
    assert "- bound v1.0.0 to checkpoint sha256" in story
    assert "Uploaded the checkpoint to the model store" in story
    assert "released without a model" not in story
    tail = story[story.index("What release v1.0.0 shipped") :]
    assert "torchlane model show v1.0.0" in tail
    assert "pulled/model.pt (fetched, sha256" in tail
    assert (output / "charts" / "accuracy.png").read_bytes().startswith(b"\x89PNG")
    assert list((output / "tensorboard").rglob("events.out.tfevents.*"))
    assert not (output / "tensorboard" / "main").exists()  # main has no evaluation: no empty run
    assert "Model quality gate failed" in (output / "report.md").read_text()
