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

# name -> ("module:attribute", one-line help). Order is the order of `torchlane --help`.
# The help text lives here so that `--help` imports no command module.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("torchlane.commands.flow:init_command", "Adopt the branch model in this repository."),
    "start": (
        "torchlane.commands.flow:start_command",
        "Start a feature/bugfix/refactor/release/hotfix branch.",
    ),
    "check-name": (
        "torchlane.commands.flow:check_name_command",
        "Check a branch name against the conventions.",
    ),
    "eval": ("torchlane.commands.eval:eval_command", "Evaluate the model and record its metrics."),
}


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
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    folder = Path(state) / "torchlane"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text(
        f"torchlane {__version__}\nargv: {sys.argv}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        encoding="utf-8",
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
