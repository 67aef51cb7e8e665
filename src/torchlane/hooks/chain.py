"""Run the hook that was installed before torchlane's (kept as `<hook>.torchlane-chained`)."""

from __future__ import annotations

import os

CHAINED_SUFFIX = ".torchlane-chained"


def run_chained(hook_path: str | None, args: list[str], stdin: bytes | None) -> int:
    """Run the chained hook, if any, with the same arguments and standard input; its status."""
    if not hook_path:
        return 0
    chained = hook_path + CHAINED_SUFFIX
    if not (os.path.isfile(chained) and os.access(chained, os.X_OK)):
        return 0  # git itself skips hooks that are not executable
    from torchlane import proc  # here: most hooks have nothing chained, and start faster without

    return proc.passthrough([chained, *args], input=stdin)


def split_hook_argument(argv: list[str]) -> tuple[str | None, list[str], list[str]]:
    """`--hook PATH` (the script's $0), our own `--flags`, and the arguments git passed."""
    hook: str | None = None
    flags: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--hook" and index + 1 < len(argv):
            hook = argv[index + 1]
            index += 2
            continue
        if arg.startswith("--") and not rest:
            flags.append(arg)
        else:
            rest.append(arg)
        index += 1
    return hook, flags, rest
