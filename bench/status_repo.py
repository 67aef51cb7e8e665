"""A generated repository for `torchlane status`: thousands of commits and branches, built fast.

One `git fast-import` stream (seconds, against minutes of `git commit`). Shape, per seed:
  - main holds the root commit (200 "core" files); develop grows from it;
  - develop's own commits touch a "hot" core file (10 %), another core file (10 %) or files of
    its own (80 %);
  - each feature branch forks from a random develop commit and has 1-17 commits on files of its
    own; 10 % also change a hot core file and 10 % a cold one, so some conflict with develop;
  - a quarter of the features are merged back into develop with --no-ff merges (their refs stay,
    0 ahead).

The "conflict-heavy" kind (`build_conflict_stream`) is the opposite case for the prefilter:
  - develop keeps editing one line at a time of 500 shared 40-line files (70 % of its commits;
    the rest add files of its own);
  - every feature branch forks from one of the last 3,000 develop commits and edits one line in
    each of 3 shared files (one commit per file), so nearly every branch touches a file develop
    changed since its fork: most need a real merge, and a large share conflict (an edit on the
    same or an adjacent line).
"""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CORE_FILES = 200
HOT_FILES = 20
DAY = 86400


@dataclass
class _Feature:
    name: str
    fork_step: int
    size: int
    touches_core: int | None
    merge_step: int | None
    files: dict[str, str] = field(default_factory=dict)


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


class _Stream:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.mark = 0
        self.commits = 0

    def commit(
        self,
        ref: str,
        when: int,
        message: str,
        *,
        parent: int | None,
        files: dict[str, str],
        merge: int | None = None,
    ) -> int:
        self.mark += 1
        self.commits += 1
        lines = [
            f"commit {ref}",
            f"mark :{self.mark}",
            f"committer Bench <bench@example.com> {when} +0000",
            _data(message).rstrip("\n"),
        ]
        if parent is not None:
            lines.append(f"from :{parent}")
        if merge is not None:
            lines.append(f"merge :{merge}")
        for path, content in files.items():
            lines.append(f"M 100644 inline {path}")
            lines.append(_data(content).rstrip("\n"))
        self.parts.append("\n".join(lines) + "\n\n")
        return self.mark


def _core(j: int) -> str:
    return f"src/core/m{j:03d}.py"


def build_stream(commits: int, branches: int, seed: int, now: int) -> str:
    rng = random.Random(seed)
    merged_share = 0.25
    features = []
    for n in range(branches):
        roll = rng.random()
        core = rng.randrange(HOT_FILES) if roll < 0.1 else None
        if 0.1 <= roll < 0.2:
            core = rng.randrange(HOT_FILES, CORE_FILES)
        features.append(
            _Feature(f"feature/generated-change-{n:04d}", 0, rng.randint(1, 17), core, None)
        )
    feature_commits = sum(f.size for f in features)
    merges = int(branches * merged_share)
    develop_steps = commits - 1 - feature_commits - merges
    if develop_steps < branches:
        raise ValueError(f"{commits} commits leave develop too short for {branches} branches")
    for f in features:
        f.fork_step = rng.randrange(develop_steps)
    for f in rng.sample(features, merges):
        f.merge_step = rng.randint(f.fork_step + 1, develop_steps)
    forks: dict[int, list[_Feature]] = {}
    merges_at: dict[int, list[_Feature]] = {}
    for f in features:
        forks.setdefault(f.fork_step, []).append(f)
        if f.merge_step is not None:
            merges_at.setdefault(f.merge_step, []).append(f)

    start = now - 400 * DAY
    step_s = (400 * DAY) // (develop_steps + 1)
    stream = _Stream()
    root_files = {_core(j): f"value = {j}\n" for j in range(CORE_FILES)}
    develop = stream.commit(
        "refs/heads/main", start, "Initial commit", parent=None, files=root_files
    )
    tips: dict[str, int] = {}
    for step in range(develop_steps + 1):
        when = start + step * step_s
        for f in forks.get(step, []):
            parent = develop
            for k in range(f.size):
                files = {f"src/features/{f.name[-4:]}/part{k}.py": f"part = {k}\n"}
                if k == 0 and f.touches_core is not None:
                    files[_core(f.touches_core)] = f"value = '{f.name}'\n"
                f.files.update(files)
                parent = stream.commit(f"refs/heads/{f.name}", when + 60 * (k + 1),
                                       f"{f.name}: step {k}", parent=parent, files=files)  # fmt: skip
            tips[f.name] = parent
        for f in merges_at.get(step, []):
            develop = stream.commit("refs/heads/develop", when + 30, f"Merge {f.name} into develop",
                                    parent=develop, files=dict(f.files), merge=tips[f.name])  # fmt: skip
        if step == develop_steps:
            break
        roll = rng.random()
        if roll < 0.1:
            path = _core(rng.randrange(HOT_FILES))
        elif roll < 0.2:
            path = _core(rng.randrange(HOT_FILES, CORE_FILES))
        else:
            path = f"src/app/mod{rng.randrange(2000):04d}.py"
        develop = stream.commit("refs/heads/develop", when + 45, f"Develop change {step}",
                                parent=develop, files={path: f"value = {step}\n"})  # fmt: skip
    return "".join(stream.parts)


SHARED_FILES = 500
SHARED_LINES = 40
RECENT_FORKS = 3000


def _shared(j: int) -> str:
    return f"src/shared/s{j:03d}.py"


def build_conflict_stream(commits: int, branches: int, seed: int, now: int) -> str:
    rng = random.Random(seed)
    feature_commits = 3 * branches
    develop_steps = commits - 1 - feature_commits
    if develop_steps < 2 * branches:
        raise ValueError(f"{commits} commits leave develop too short for {branches} branches")
    recent = min(RECENT_FORKS, develop_steps)
    forks: dict[int, list[int]] = {}
    for n in range(branches):
        forks.setdefault(develop_steps - rng.randrange(recent), []).append(n)
    start = now - 400 * DAY
    step_s = (400 * DAY) // (develop_steps + 1)
    shared = [[f"v{i} = {j}" for i in range(SHARED_LINES)] for j in range(SHARED_FILES)]

    def text(lines: list[str]) -> str:
        return "\n".join(lines) + "\n"

    stream = _Stream()
    develop = stream.commit(
        "refs/heads/main", start, "Initial commit", parent=None,
        files={_shared(j): text(lines) for j, lines in enumerate(shared)},
    )  # fmt: skip
    for step in range(develop_steps + 1):
        when = start + step * step_s
        for n in forks.get(step, []):
            name = f"feature/conflict-change-{n:04d}"
            parent = develop
            for k, j in enumerate(rng.sample(range(SHARED_FILES), 3)):
                lines = list(shared[j])
                line = rng.randrange(SHARED_LINES)
                lines[line] = f"v{line} = {name!r}"
                parent = stream.commit(f"refs/heads/{name}", when + 60 * (k + 1),
                                       f"{name}: edit {_shared(j)}", parent=parent,
                                       files={_shared(j): text(lines)})  # fmt: skip
        if step == develop_steps:
            break
        if rng.random() < 0.7:
            j = rng.randrange(SHARED_FILES)
            shared[j][rng.randrange(SHARED_LINES)] = f"v = {step}"
            files = {_shared(j): text(shared[j])}
        else:
            files = {f"src/app/mod{step:05d}.py": f"value = {step}\n"}
        develop = stream.commit("refs/heads/develop", when + 45, f"Develop change {step}",
                                parent=develop, files=files)  # fmt: skip
    return "".join(stream.parts)


def generated_repository(
    folder: Path,
    commits: int = 20_000,
    branches: int = 1_000,
    seed: int = 7,
    kind: str = "default",
) -> Path:
    """The repository for these parameters, generated once and cached under `folder`.

    kind: "default" (build_stream) or "conflicts" (build_conflict_stream)."""
    builders = {"default": build_stream, "conflicts": build_conflict_stream}
    prefix = "status-repo" if kind == "default" else f"status-repo-{kind}"
    repo = folder / f"{prefix}-{commits}-{branches}-{seed}"
    done = repo / ".git" / "generated-ok"
    if done.is_file():
        return repo
    if repo.exists():
        subprocess.run(["rm", "-rf", str(repo)], check=True)
    repo.mkdir(parents=True)
    stream = builders[kind](commits, branches, seed, int(time.time()))

    def git(*args: str, text: str | None = None) -> None:
        subprocess.run(["git", *args], cwd=repo, input=text, text=True, check=True,
                       capture_output=True)  # fmt: skip

    git("init", "--quiet", "--initial-branch", "develop")
    git("fast-import", "--quiet", text=stream)
    git("symbolic-ref", "HEAD", "refs/heads/develop")
    git("reset", "--quiet", "--hard", "develop")
    # A maintained repository has a commit-graph (gc and `git maintenance` write it); both the
    # anchor loop and torchlane read it.
    git("commit-graph", "write", "--reachable")
    done.write_text("ok\n", encoding="utf-8")
    return repo
