"""Command-line entry point: parse, call, render. Maps TorchlaneError to exit codes.

Subcommands live in `torchlane.commands.*` and are imported only when invoked, so that
`torchlane check-name` in a hook does not pay for the evaluation or environment code.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click

from torchlane import __version__
from torchlane.errors import EXIT_INTERRUPTED, EXIT_UNEXPECTED, EXIT_USAGE, TorchlaneError
from torchlane.leanfs import private_dir, write_atomic

# name -> ("module:attribute", one-line help). Order is the order of `torchlane --help`.
# The help text lives here so that `--help` imports no command module.
# fmt: off
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("torchlane.commands.flow:init_command", "Adopt the branch model in this repository."),
    "start": ("torchlane.commands.flow:start_command", "Start a feature/bugfix/refactor/release/hotfix branch."),
    "finish": ("torchlane.commands.finish:finish_command", "Merge a finished branch where it belongs (--no-ff, journaled, --continue/--abort)."),
    "sync": ("torchlane.commands.finish:sync_command", "Rebase (or --merge) the current topic branch onto develop."),
    "publish": ("torchlane.commands.finish:publish_command", "Push the current branch and print the pull-request URL."),
    "status": ("torchlane.commands.status:status_command", "Every branch's drift, age, merge conflicts, naming and staleness."),
    "verify": ("torchlane.commands.status:verify_command", "Check (for CI) that history followed the branch model; exit 1 if not."),
    "check-name": ("torchlane.commands.flow:check_name_command", "Check a branch name against the conventions."),
    "eval": ("torchlane.commands.eval:eval_command", "Evaluate the model and record its metrics."),
    "gate": ("torchlane.commands.gate:gate_command", "Fail if the model got credibly worse."),
    "report": ("torchlane.commands.report:report_command", "Report the gate's decision for a pull request, with charts."),
    "metrics": ("torchlane.commands.metrics:metrics_group", "Show, compare, share and export evaluation records (git notes)."),
    "ci": ("torchlane.commands.ci:ci_group", "Run the CI pipeline locally; generate CI workflows and branch protection."),
    "env": ("torchlane.commands.env:env_group", "Check, generate and lock the environment."),
    "doctor": ("torchlane.commands.doctor:doctor_command", "Check this machine's python, torch, CUDA, driver and packages against the declaration."),
    "model": ("torchlane.commands.model:model_group", "The model each release shipped: show, list, diff, push to and pull from the store."),
    "run": ("torchlane.commands.repro:run_command", "Run a training command and record a reproducibility manifest."),
    "reproduce": ("torchlane.commands.repro:reproduce_command", "Re-run a recorded run at its commit and compare the outputs."),
    "nb": ("torchlane.commands.nb:nb_group", "Strip, check and export Jupyter notebooks; install the git filter."),
    "secrets": ("torchlane.commands.secrets:secrets_group", "Scan files, the index or history for secrets."),
    "hooks": ("torchlane.commands.hooks:hooks_group", "Install or remove torchlane's git hooks."),
    "jupyter": ("torchlane.commands.jupyter:jupyter_command", "Start Jupyter bound to localhost with a private token."),
    "gpus": ("torchlane.commands.gpus:gpus_command", "Which GPUs are busy, by which process, user and container; quota overruns."),
    "cluster": ("torchlane.commands.cluster:cluster_group", "Run eval, commands and training on Kubernetes / Kubeflow; team quotas."),
}
# fmt: on


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute = entry[0].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, help_text) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="torchlane")
def cli() -> None:
    """Keep a PyTorch team's repository shippable: branches, environments, model quality."""


def _crash_log(exc: BaseException) -> Path:
    """Write the traceback to a file only the user can read (it holds argv, which may carry a
    token), in a folder only the user can enter, whatever the umask."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    try:
        folder = Path(private_dir(Path(state) / "torchlane"))
    except OSError:
        folder = Path(tempfile.mkdtemp(prefix="torchlane-crash-"))  # 0700 by construction
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    write_atomic(
        path,
        f"torchlane {__version__}\nargv: {sys.argv}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        mode=0o600,
    )
    return path


def _print_error(error: TorchlaneError) -> None:
    print(f"error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"hint: {error.hint}", file=sys.stderr)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code instead of exiting (used by tests and main)."""
    try:
        result = cli.main(args=argv, prog_name="torchlane", standalone_mode=False)
    except TorchlaneError as error:
        _print_error(error)
        return error.exit_code
    except click.exceptions.Abort:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        error.show()
        return EXIT_USAGE if isinstance(error, click.UsageError) else error.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:
        log = _crash_log(exc)
        print(f"error: unexpected failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(
            f"hint: the full traceback is in {log}; please attach it to a bug report.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())
