"""`make demo`: the branch model on a temporary sample repository with a bare origin.

Each step runs the real `torchlane` command line in a subprocess, exactly as a user would, and
prints what it shows.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from torchlane.git import Git


class Story:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.origin = workdir / "origin.git"
        self.repo = workdir / "sample"
        self.env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Demo Engineer",
            "GIT_AUTHOR_EMAIL": "demo@example.com",
            "GIT_COMMITTER_NAME": "Demo Engineer",
            "GIT_COMMITTER_EMAIL": "demo@example.com",
            "GIT_CONFIG_NOSYSTEM": "1",
            "NO_COLOR": "1",
        }
        self.git = Git(self.repo, env=self.env)

    def chapter(self, title: str) -> None:
        print(f"\n=== {title}")

    def torchlane(self, *args: str, expect: int = 0) -> str:
        print(f"$ torchlane {shlex.join(args)}")
        proc = subprocess.run(
            [sys.executable, "-m", "torchlane", *args],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in (proc.stdout + proc.stderr).rstrip().splitlines():
            print(f"    {line}")
        if proc.returncode != expect:
            raise SystemExit(f"demo: expected exit {expect}, got {proc.returncode}")
        return proc.stdout

    def commit(self, path: str, content: str, message: str) -> None:
        target = self.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        self.git.run("add", "--", path)
        self.git.run("commit", "--quiet", "-m", message)
        print(f"$ git commit -m {shlex.quote(message)}")

    def setup(self) -> None:
        Git(self.workdir, env=self.env).run("init", "--quiet", "--bare", str(self.origin))
        self.repo.mkdir()
        self.git.run("init", "--quiet", "--initial-branch", "main")
        self.git.run("config", "user.name", "Demo Engineer")
        self.git.run("config", "user.email", "demo@example.com")
        self.commit("README.md", "# digits classifier\n", "Initial commit")
        self.git.run("remote", "add", "origin", str(self.origin))

    def branch_model(self) -> None:
        self.chapter("Adopt the branch model")
        self.torchlane("init")
        self.git.run("push", "--quiet", "origin", "main", "develop")
        self.chapter("Naming conventions are enforced")
        self.torchlane("check-name", "fix_stuff", expect=1)
        self.torchlane("start", "feature", "misc", expect=1)
        self.chapter("Start a feature")
        self.torchlane("start", "feature", "add-dropout")
        self.commit("model.py", "DROPOUT = 0.1\n", "Add dropout to the classifier")
        self.finish_features()
        self.release_and_hotfix()
        self.chapter("The history: every branch is one merge commit")
        graph = self.git.out("log", "--graph", "--oneline", "--decorate", "--all")
        print("$ git log --graph --oneline --all")
        for line in graph.splitlines():
            print(f"    {line}")

    def run_git(self, *args: str) -> None:
        print(f"$ git {shlex.join(args)}")
        self.git.run(*args)

    def finish_features(self) -> None:
        self.chapter("Finish it: one commit, still a --no-ff merge commit")
        self.torchlane("finish")
        self.chapter("A second feature, published for review")
        self.torchlane("start", "feature", "add-mixup")
        self.commit("mixup.py", "ALPHA = 0.2\n", "Add mixup augmentation")
        self.commit("train.py", "USE_MIXUP = True\n", "Train with mixup")
        self.torchlane("publish")
        self.torchlane("finish")
        self.chapter("A conflict while finishing: resolve, then --continue")
        self.torchlane("start", "feature", "tune-dropout")
        self.commit("model.py", "DROPOUT = 0.3\n", "Tune dropout")
        self.run_git("switch", "--quiet", "develop")
        self.torchlane("start", "bugfix", "clamp-dropout")
        self.commit("model.py", "DROPOUT = 0.2\n", "Clamp dropout")
        self.torchlane("finish")
        self.run_git("switch", "--quiet", "feature/tune-dropout")
        self.torchlane("finish", expect=1)
        (self.repo / "model.py").write_text("DROPOUT = 0.25\n", encoding="utf-8")
        print("$ echo 'DROPOUT = 0.25' > model.py")
        self.run_git("add", "model.py")
        self.torchlane("finish", "--continue")

    def release_and_hotfix(self) -> None:
        self.chapter("Release 1.0.0: main, an annotated tag, back into develop, pushed")
        self.torchlane("start", "release", "1.0.0")
        self.commit("VERSION", "1.0.0\n", "Bump the version to 1.0.0")
        self.torchlane("finish", "--push")
        self.chapter(
            "A hotfix while release 1.1.0 is open: it reaches main, develop AND the release"
        )
        self.torchlane("start", "release", "1.1.0")
        self.commit("VERSION", "1.1.0\n", "Bump the version to 1.1.0")
        self.torchlane("start", "hotfix", "1.0.1")
        self.commit(
            "model.py", "DROPOUT = 0.25  # was applied at eval time too\n", "Fix eval dropout"
        )
        self.torchlane("finish")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="torchlane-demo-") as folder:
        story = Story(Path(folder))
        story.setup()
        story.branch_model()
    print("\nDemo finished.")
    return 0
