"""What the GitHub and GitLab pipelines share: the image, the install and the stage commands."""

from __future__ import annotations

import shlex

from torchlane.ci.events import BRANCH_MODEL, CiJob, EventKind, job_kinds, job_stages
from torchlane.ci.settings import Context
from torchlane.config.settings import TorchlaneConfig

NOTES_REFSPEC = "+refs/notes/*:refs/notes/*"
REPORT_MARKER = "<!-- torchlane-report -->"


def ci_image(config: TorchlaneConfig) -> str:
    """The image CI jobs run in: configured, else the environment's base image."""
    if config.ci.image:
        return config.ci.image
    env = config.env
    if env.base_image:
        return env.base_image
    if env.cuda_version and env.torch:
        return f"pytorch/pytorch:{env.torch}-cuda{env.cuda_version}-cudnn9-{env.flavor}"
    return f"python:{env.python}"


# Checkout needs git inside the job's container; slim and PyTorch images may lack it.
ENSURE_GIT = (
    "command -v git >/dev/null || { apt-get update -qq && "
    "apt-get install -y -qq --no-install-recommends git ca-certificates; }"
)


def torchlane_requirement(config: TorchlaneConfig, version: str) -> list[str] | None:
    """pip arguments that install torchlane `version` from the configured source; None when
    the project's lock or extras must provide it (then nothing is fetched by its bare name)."""
    source = config.ci.torchlane_source
    if source is None:
        return None
    if source.startswith("git+"):
        # A git URL without a ref gets the release tag of this version.
        path = source.split("://", 1)[1]
        pinned = source if "@" in path.rsplit("/", 1)[-1] else f"{source}@v{version}"
        return [f"torchlane @ {pinned}"]
    if source.split("?", 1)[0].endswith(".whl"):
        return [source]
    # An index: only that index is asked (--index-url, not --extra-index-url, which would let
    # a same-named package on another index win), and only for this exact version.
    return ["--index-url", source, f"torchlane=={version}"]


def install_commands(config: TorchlaneConfig) -> list[str]:
    """The project's lock, the project itself with the extras its stages need, and torchlane at
    the version that generated the file; then a check that this torchlane is the one installed.
    Every value is shell-quoted."""
    from torchlane import __version__ as version

    lock = shlex.quote(config.env.lock)
    extras = ",".join(config.ci.install_extras)
    project = shlex.quote(f".[{extras}]" if extras else ".")
    commands = [
        f"if [ -f {lock} ]; then python -m pip install -r {lock}; fi",
        # Only a project with a [project] table (or setup.py) can be installed.
        "if [ -f setup.py ] || grep -q '^\\[project\\]' pyproject.toml 2>/dev/null; "
        f"then python -m pip install -e {project}; fi",
    ]
    requirement = torchlane_requirement(config, version)
    if requirement is not None:
        commands.append("python -m pip install " + " ".join(shlex.quote(a) for a in requirement))
    expected = shlex.quote(f"torchlane, version {version}")
    fix = (
        f"check that [tool.torchlane.ci] torchlane_source serves torchlane {version}"
        if requirement is not None
        else f"pin torchlane=={version} in {config.env.lock} or the project's "
        f"{extras or 'dev'} extra, or set [tool.torchlane.ci] torchlane_source"
    )
    message = shlex.quote(
        f"torchlane {version} (the version that generated this file) is not installed: "
        f"{fix} (docs/ci.md, Installing torchlane in CI)."
    )
    commands.append(
        f'[ "$(python -m torchlane --version 2>/dev/null)" = {expected} ] '
        f"|| {{ echo {message} >&2; exit 1; }}"
    )
    return commands


def ci_command(context: str, stages: tuple[str, ...]) -> str:
    """`torchlane ci` for exactly these stages (never none: that would mean all of them)."""
    if not stages:
        raise ValueError("a CI job runs at least one stage")
    selected = " ".join(f"--stage {shlex.quote(s)}" for s in stages)
    return f"python -m torchlane ci --no-cache --context {context} {selected}"


def job_command(config: TorchlaneConfig, job: CiJob, context: Context) -> str | None:
    """The command of an evaluation job (gate, record, release), None when it has no stages
    (every stage it would run is disabled): then the job is not generated."""
    stages = job_stages(config, job, context)
    return ci_command(context, stages) if stages else None


def checks_steps(config: TorchlaneConfig) -> list[tuple[Context, tuple[EventKind, ...], str]]:
    """The checks job, by context: (context, the kinds of event it serves, its command).

    The stages differ by context (develop has no gate, main only `verify`), so each provider
    runs one of these per event; contexts without stages are left out.
    """
    kinds = job_kinds(config, "checks")
    steps: list[tuple[Context, tuple[EventKind, ...], str]] = []
    for context in dict.fromkeys(context for context, _ in BRANCH_MODEL.values()):
        served = tuple(k for k, j in kinds.items() if j.context == context)
        if served:
            steps.append((context, served, ci_command(context, kinds[served[0]].stages)))
    return steps


def git_setup_commands(config: TorchlaneConfig, branch_expr: str | None) -> list[str]:
    """Full history and the metrics notes (shallow clones break comparisons), local base branches."""
    # Every configured name is shell-quoted (they are validated at load too: config.values).
    develop, main = shlex.quote(config.branches.develop), shlex.quote(config.branches.main)
    remote = "origin"
    commands = [
        'git config --global --add safe.directory "$PWD"',
        f"git fetch --no-tags --prune {remote} '{NOTES_REFSPEC}' '+refs/tags/*:refs/tags/*' || true",
        f'for b in {main} {develop}; do git show-ref --verify --quiet "refs/remotes/{remote}/$b" '
        f'&& [ "$(git branch --show-current)" != "$b" ] && git branch --force "$b" "{remote}/$b"; done; true',
    ]
    if branch_expr:
        commands.append(f'git switch --force-create "{branch_expr}"')
    return commands
