"""The pipeline's stages: defaults for the whole branch model, overridable from configuration."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass

from torchlane.ci.settings import CiSettings, Context
from torchlane.config.settings import TorchlaneConfig
from torchlane.env.files import ci_pathspecs
from torchlane.errors import TorchlaneError, usage_error
from torchlane.naming import BranchType, parse_branch

ALL_FILES = ("*",)
# Where torchlane's own settings live (config/source.py): commands that read them key on them.
SETTINGS_FILES = ("pyproject.toml", ".torchlane.toml")
# Every file ruff reads: the sources (notebooks too) and its configuration, in any folder.
LINT_INPUTS = ("*.py", "*.pyi", "*.ipynb", "ruff.toml", ".ruff.toml", "pyproject.toml")
TOPIC_AND_RELEASE: tuple[Context, ...] = ("topic", "develop", "release")


@dataclass(frozen=True)
class Stage:
    name: str
    command: tuple[str, ...]
    inputs: tuple[str, ...]  # git pathspecs whose content decides whether a cached green run holds
    needs: tuple[str, ...] = ()
    required: bool = True
    contexts: tuple[Context, ...] = TOPIC_AND_RELEASE
    # Stages whose outcome depends on refs or notes as well as files (verify, gate) key on those too.
    keyed_on_refs: bool = False
    # Stages that act on the checked-out commit (evaluate records metrics for it) key on HEAD.
    keyed_on_head: bool = False
    description: str = ""
    # Runs in CI's evaluation jobs (GPU runners) rather than its checks job.
    gpu: bool = False


# The stages that evaluate a model, and so run on GPU runners in CI. A stage that needs one of
# them runs there too (it must see their results); `gpu = true/false` in its table overrides.
GPU_STAGES = frozenset({"evaluate", "gate", "report"})


def _torchlane(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "torchlane", *args)


def default_stages(artifacts: str) -> list[Stage]:
    python = sys.executable
    return [
        Stage(
            "lint",
            (python, "-m", "ruff", "check", "."),
            LINT_INPUTS,
            description="ruff",
        ),
        Stage("tests", (python, "-m", "pytest", "-q"), ALL_FILES, description="pytest"),
        Stage(
            "notebooks",
            _torchlane("nb", "check", "."),
            ("*.ipynb", *SETTINGS_FILES),  # [tool.torchlane.notebooks] decides what is stripped
            description="notebooks stripped",
        ),
        Stage(
            "secrets", _torchlane("secrets", "scan"), ALL_FILES, description="no secrets committed"
        ),
        Stage(
            "env",
            _torchlane("env", "check"),
            ci_pathspecs(),  # env/files.py: the one definition of the environment files
            description="environment files consistent",
        ),
        Stage(
            "verify",
            _torchlane("verify"),
            SETTINGS_FILES,
            contexts=("release", "main"),
            keyed_on_refs=True,
            description="history follows the model",
        ),
        Stage(
            "evaluate",
            _torchlane("eval"),
            ALL_FILES,
            # Runs alongside the tests (the two longest stages; chained, they were nearly the
            # whole local run): the gate still needs both, so a red test still fails the gate.
            # CI's own jobs keep evaluation on GPU runners behind the checks job.
            # On main (release merges and their tags) it records the next release's baseline.
            contexts=(*TOPIC_AND_RELEASE, "main"),
            keyed_on_head=True,
            description="evaluate the latest checkpoint and record metrics",
        ),
        Stage(
            "gate",
            _torchlane("gate"),
            ALL_FILES,
            needs=("tests", "evaluate"),
            contexts=("topic", "release"),
            keyed_on_refs=True,
            description="model quality against the baseline",
        ),
        Stage(
            "report",
            _torchlane("report", "--output", f"{artifacts}/report.md"),
            ALL_FILES,
            # Not the gate: the report explains a failed gate, so it must not be blocked by one
            # (it reads the same notes; its exit status does not depend on the verdict).
            needs=("evaluate",),
            required=False,
            contexts=("topic", "release"),
            keyed_on_refs=True,
            description="markdown report for the pull request",
        ),
    ]


def context_for_branch(branch: str | None, config: TorchlaneConfig) -> Context:
    if branch == config.branches.develop:
        return "develop"
    if branch == config.branches.main:
        return "main"
    parsed = parse_branch(branch, config) if branch else None
    if parsed is not None and parsed.type in (BranchType.RELEASE, BranchType.HOTFIX):
        return "release"
    return "topic"


def _apply(stage: Stage | None, name: str, settings: CiSettings) -> Stage | None:
    override = settings.stages.get(name)
    if override is None:
        return stage
    if not override.enabled:
        return None
    if stage is None:
        if not override.command:
            raise TorchlaneError(
                f"[tool.torchlane.ci.stages.{name}] declares a new stage without a command.",
                'Add command = "..." (or fix the stage name if you meant to change a default one).',
            )
        stage = Stage(name, (), ALL_FILES)
    command = tuple(shlex.split(override.command)) if override.command else stage.command
    return Stage(
        name=name,
        command=command,
        inputs=override.inputs if override.inputs is not None else stage.inputs,
        needs=override.needs if override.needs is not None else stage.needs,
        required=override.required if override.required is not None else stage.required,
        contexts=override.contexts if override.contexts is not None else stage.contexts,
        keyed_on_refs=stage.keyed_on_refs,
        keyed_on_head=stage.keyed_on_head,
        description=stage.description or "custom stage",
        gpu=override.gpu if override.gpu is not None else stage.gpu,
    )


def _resolve_gpu(stages: list[Stage], settings: CiSettings) -> list[Stage]:
    """Default GPU stages, plus every stage that needs one (transitively) unless it says."""
    explicit = {n: s.gpu for n, s in settings.stages.items() if s.gpu is not None}
    gpu = {s.name: explicit.get(s.name, s.name in GPU_STAGES) for s in stages}
    changed = True
    while changed:
        changed = False
        for stage in stages:
            inherits = stage.name not in explicit and not gpu[stage.name]
            if inherits and any(gpu.get(n, False) for n in stage.needs):
                gpu[stage.name] = changed = True
    return [Stage(**{**s.__dict__, "gpu": gpu[s.name]}) for s in stages]


def _declared_environment_files(config: TorchlaneConfig) -> tuple[str, ...]:
    """`env check` also reads the requirement files and the lock the declaration names, whatever
    they are called, so the env stage's key must cover them too."""
    declared = (*config.env.requirements, config.env.lock)
    return tuple(f":(literal){path}" for path in declared)


def configured_stages(config: TorchlaneConfig) -> list[Stage]:
    """Every enabled stage, defaults then new ones, with the configuration applied."""
    settings = config.ci
    defaults = {s.name: s for s in default_stages(settings.artifacts)}
    env = defaults["env"]
    defaults["env"] = Stage(
        **{**env.__dict__, "inputs": (*env.inputs, *_declared_environment_files(config))}
    )
    names = list(defaults) + [n for n in settings.stages if n not in defaults]
    configured = [s for n in names if (s := _apply(defaults.get(n), n, settings)) is not None]
    return _resolve_gpu(configured, settings)


def pipeline_stages(
    config: TorchlaneConfig, context: Context, only: tuple[str, ...] = ()
) -> list[Stage]:
    """The stages that run in `context`, in dependency order, with config applied.

    A stage whose dependency does not run in this context loses that dependency rather than
    the whole stage (e.g. `evaluate` on develop does not wait for a gate that is not there).
    """
    settings = config.ci
    names = [s.name for s in default_stages(settings.artifacts)]
    names += [n for n in settings.stages if n not in names]
    configured = configured_stages(config)
    unknown = [n for n in only if n not in {s.name for s in configured}]
    if unknown:
        raise usage_error(
            f"No stage named {', '.join(unknown)}.",
            f"Stages: {', '.join(s.name for s in configured)}.",
        )
    chosen = [s for s in configured if (s.name in only if only else context in s.contexts)]
    present = {s.name for s in chosen}
    for stage in chosen:
        # A need on a disabled stage is dropped like one on a stage of another context.
        missing = [n for n in stage.needs if n not in names]
        if missing:
            raise TorchlaneError(
                f"Stage '{stage.name}' needs unknown stage(s) {', '.join(missing)}.",
                f"Fix [tool.torchlane.ci.stages.{stage.name}] needs.",
            )
    return [
        Stage(**{**s.__dict__, "needs": tuple(n for n in s.needs if n in present)}) for s in chosen
    ]
