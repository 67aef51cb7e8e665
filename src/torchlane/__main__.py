"""`python -m torchlane` and the `torchlane` script.

Hooks run a few commands many times a day, so those skip the full CLI: FAST_PATHS maps an argv
prefix to a lean function that takes the rest of argv and returns an exit code, or None to hand
the command to the click CLI (for --help, an option it does not know, or an unexpected failure's
crash log). Everything else goes straight to torchlane.cli.
"""

import sys

FAST_PATHS: dict[tuple[str, ...], str] = {
    ("env", "check"): "torchlane.env.check.fast:main",
    ("check-name",): "torchlane.flow.fastname:main",
    ("status",): "torchlane.commands.fast_status:main",
}


def fast_path(argv: list[str]) -> int | None:
    for prefix, target in FAST_PATHS.items():
        if tuple(argv[: len(prefix)]) == prefix:
            import importlib

            module_name, _, attribute = target.partition(":")
            handler = getattr(importlib.import_module(module_name), attribute)
            try:
                code: int | None = handler(argv[len(prefix) :])
            except Exception:
                return None  # rerun through the CLI, which writes the crash log
            return code
    return None


def main() -> None:
    code = fast_path(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from torchlane.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
