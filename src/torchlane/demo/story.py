"""`make demo`: torchlane's main job, end to end, on a temporary sample repository.

A digits classifier (scikit-learn's bundled data, CPU only) in a repository with a bare origin:
the branch model, a baseline recorded on develop, a feature that improves the model and passes
the gate, one with a preprocessing bug that the gate stops, a release and a hotfix, the
metric history as PNG charts and TensorBoard logs in ./demo-output, and last the model the
release shipped, shown and pulled back from the model store.

Each step runs the real `torchlane` command line in a subprocess, exactly as a user would, and
prints what it shows.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from torchlane import proc
from torchlane.config.source import FALLBACK_FILE, find_config_source
from torchlane.demo.quality import (
    PREPROCESSING_BUG,
    break_preprocessing,
    copy_sample_project,
    widen_model,
)
from torchlane.git import Git


class Story:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.origin = workdir / "origin.git"
        self.repo = workdir / "sample"
        self.store = workdir / "model-store"
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

    def torchlane(self, *args: str, expect: int = 0, env: dict[str, str] | None = None) -> str:
        prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in (env or {}).items())
        print(f"$ {prefix}torchlane {shlex.join(args)}")
        done = proc.run(
            [sys.executable, "-m", "torchlane", *args],
            cwd=self.repo,
            env={**self.env, **(env or {})},
            check=False,
        )
        for line in (done.stdout + done.stderr).rstrip().splitlines():
            print(f"    {line}")
        if done.returncode != expect:
            raise SystemExit(f"demo: expected exit {expect}, got {done.returncode}")
        return done.stdout

    def commit(self, path: str, content: str, message: str) -> None:
        target = self.repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        self.git.add(path)
        self.git.commit(message)
        print(f"$ git commit -m {shlex.quote(message)}")

    def setup(self) -> None:
        Git(self.workdir, env=self.env).run("init", "--quiet", "--bare", str(self.origin))
        self.repo.mkdir()
        self.git.init(initial_branch="main")
        self.git.config_set("user.name", "Demo Engineer")
        self.git.config_set("user.email", "demo@example.com")
        self.commit("README.md", "# digits classifier\n", "Initial commit")
        self.git.add_remote("origin", str(self.origin))

    def run_git(self, *args: str) -> None:
        print(f"$ git {shlex.join(args)}")
        self.git.run(*args)

    def commit_paths(self, paths: list[str], message: str) -> None:
        self.git.add(*paths)
        self.git.commit(message)
        print(f"$ git commit -m {shlex.quote(message)}")

    def show_graph(self) -> None:
        refs = ("--branches", "--tags", "--remotes")  # not --all: the notes refs are history too
        graph = self.git.out("log", "--graph", "--oneline", "--decorate", *refs, "-n", "40")
        print(f"$ git log --graph --oneline {' '.join(refs)}")
        for line in graph.splitlines():
            print(f"    {line}")


def adopt(story: Story) -> None:
    story.chapter("Adopt the branch model")
    story.torchlane("init")
    story.git.push("origin", "main", "develop")
    story.chapter("Naming conventions are enforced")
    story.torchlane("check-name", "fix_stuff", expect=1)
    story.torchlane("start", "feature", "misc", expect=1)


def features(story: Story) -> None:
    story.chapter("A feature with one commit is still one --no-ff merge commit")
    story.torchlane("start", "feature", "add-dropout")
    story.commit("regularisation.py", "DROPOUT = 0.1\n", "Add dropout to the classifier")
    story.torchlane("finish")
    story.chapter("A second feature, published for review")
    story.torchlane("start", "feature", "add-mixup")
    story.commit("mixup.py", "ALPHA = 0.2\n", "Add mixup augmentation")
    story.commit("schedule.py", "USE_MIXUP = True\n", "Train with mixup")
    story.torchlane("publish")
    story.torchlane("finish")
    story.chapter("A conflict while finishing: resolve, then --continue")
    story.torchlane("start", "feature", "tune-dropout")
    story.commit("regularisation.py", "DROPOUT = 0.3\n", "Tune dropout")
    story.run_git("switch", "--quiet", "develop")
    story.torchlane("start", "bugfix", "clamp-dropout")
    story.commit("regularisation.py", "DROPOUT = 0.2\n", "Clamp dropout")
    story.torchlane("finish")
    story.run_git("switch", "--quiet", "feature/tune-dropout")
    story.torchlane("finish", expect=1)
    (story.repo / "regularisation.py").write_text("DROPOUT = 0.25\n", encoding="utf-8")
    print("$ echo 'DROPOUT = 0.25' > regularisation.py")
    story.run_git("add", "regularisation.py")
    story.torchlane("finish", "--continue")


def model_quality(story: Story) -> None:
    story.chapter("A model on develop: train, evaluate, record the baseline in git notes")
    story.commit_paths(copy_sample_project(story.repo), "Add the digits classifier")
    story.torchlane("eval")
    story.chapter("Nothing changed: the evaluation cache answers")
    story.torchlane("eval")

    story.chapter("A feature that improves the model passes the gate and is finished")
    story.torchlane("start", "feature", "wider-hidden-layer")
    story.commit_paths(
        widen_model(story.repo), "Widen the hidden layer to 64 units, train 20 epochs"
    )
    story.torchlane("eval")
    story.torchlane("gate")
    story.torchlane("finish")
    story.chapter("CI records develop's new state (what the generated workflow does on a push)")
    story.torchlane("eval")

    story.chapter("A feature with a preprocessing bug is stopped by the gate")
    print(PREPROCESSING_BUG)
    story.torchlane("start", "feature", "normalise-pixels")
    story.commit_paths(break_preprocessing(story.repo), "Normalise pixels to [0, 1]")
    story.torchlane("eval")
    story.torchlane("gate", expect=1)
    story.chapter("The pull-request report for it")
    story.torchlane("report")
    story.run_git("switch", "--quiet", "develop")


def release_and_hotfix(story: Story) -> None:
    story.chapter("Release 1.0.0: main, an annotated tag, back into develop, pushed")
    story.torchlane("start", "release", "1.0.0")
    story.commit("VERSION", "1.0.0\n", "Bump the version to 1.0.0")
    # The team's model store: a shared directory (an NFS path, or an s3:// URL) in real life.
    settings = find_config_source(story.repo)[0]
    assert settings is not None  # `torchlane init` wrote them
    table = "[models]" if settings.name == FALLBACK_FILE else "[tool.torchlane.models]"
    with settings.open("a", encoding="utf-8") as file:
        file.write(f'\n{table}\nstore = "{story.store}"\n')
    story.commit_paths([settings.name], "Ship released models to the team's model store")
    story.chapter("The release candidate is evaluated: the release ships exactly these weights")
    story.torchlane("eval")
    # main and develop are protected: only a release manager pushes them directly.
    story.torchlane("finish", "--push", env={"TORCHLANE_ALLOW_PUSH": "1"})
    story.chapter("A hotfix while release 1.1.0 is open: it reaches main, develop AND the release")
    story.torchlane("start", "release", "1.1.0")
    story.commit("VERSION", "1.1.0\n", "Bump the version to 1.1.0")
    story.torchlane("start", "hotfix", "1.0.1")
    story.commit("regularisation.py", "DROPOUT = 0.25  # also at eval time\n", "Fix eval dropout")
    story.torchlane("eval")
    story.torchlane("finish")


def overview(story: Story, output: Path) -> None:
    story.chapter("Where every branch stands, and whether history followed the model")
    story.run_git("switch", "--quiet", "develop")
    story.torchlane("status")
    story.torchlane("verify")
    story.chapter("The history: every branch is one merge commit")
    story.show_graph()
    story.chapter("Metric history along develop, the stopped candidate marked; TensorBoard logs")
    story.torchlane("metrics", "log")
    story.torchlane(
        "report", "feature/normalise-pixels", "--chart", str(output / "charts"),
        "--tensorboard", str(output / "tensorboard"), "--output", str(output / "report.md"),
    )  # fmt: skip


def shipped_model(story: Story) -> None:
    story.chapter("What release v1.0.0 shipped, and the very same bytes fetched back")
    story.torchlane("model", "list")
    story.torchlane("model", "show", "v1.0.0")
    story.torchlane("model", "pull", "v1.0.0", "--to", str(story.workdir / "pulled"))


def main() -> int:
    output = Path(os.environ.get("TORCHLANE_DEMO_OUTPUT", "demo-output")).resolve()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="torchlane-demo-") as folder:
        story = Story(Path(folder))
        story.setup()
        adopt(story)
        features(story)
        model_quality(story)
        release_and_hotfix(story)
        overview(story, output)
        shipped_model(story)
    print(f"\nDemo finished. Charts, TensorBoard logs and the report are in {output}")
    print(f"  tensorboard --logdir {output / 'tensorboard'}")
    return 0
