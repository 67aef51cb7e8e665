"""The pre-commit hook: staged notebooks, secrets in staged content, environment files.

Run as `python -m torchlane.hooks.precommit --hook "$0"`. The environment check is `env check`'s
lean entry, called in this process (a subprocess only when it hands over to the full CLI, or in
a torchlane without it, where a missing command is reported and skipped).

A pass is remembered (verdict.py) and replayed while the index, HEAD, the settings, the secrets
baseline and torchlane's code are unchanged: the notebook and secret checks then cost nothing,
and the module imports only what that replay needs (the scanner, the git wrapper, dataclasses
and pathlib come on a miss).
"""

from __future__ import annotations

import os
import sys

from torchlane.config.snapshot import load_snapshot
from torchlane.hooks.chain import run_chained, split_hook_argument
from torchlane.hooks.verdict import Verdict, now_ns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from torchlane.config.snapshot import Snapshot
    from torchlane.git import Git


def run_torchlane(args: list[str]) -> int | None:
    """Run `torchlane ARGS` with this interpreter; None if this torchlane lacks the command."""
    from torchlane import proc  # here: the hook's usual paths start no Python subprocess

    result = proc.run([sys.executable, "-m", "torchlane", *args], check=False)
    if result.returncode == 2 and "No such command" in result.stderr:
        print(
            f"torchlane: `torchlane {args[0]} {args[1]}` is not available in this torchlane "
            "version; skipped.",
            file=sys.stderr,
        )
        return None
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


_LISTED = 20  # notebooks named one by one; beyond that, a count


def check_environment() -> int | None:
    """`torchlane env check --quiet`: in this process through its lean entry (a second
    interpreter would double the hook's start-up), else as a subprocess (an older torchlane)."""
    code: int | None = None
    try:
        from torchlane.env.check.fast import main as fast_check

        code = fast_check(["--quiet"])
    except Exception:  # the CLI, run below, reports it and writes the crash log
        code = None
    if code is not None:
        sys.stdout.flush()
        return code
    return run_torchlane(["env", "check", "--quiet"])


def check_staged_notebooks(git: Git, paths: list[str], settings: dict[str, object]) -> list[str]:
    """What is wrong with the notebooks as staged (the blobs in the index, which the notebook
    filter has already stripped), never the work-tree files (which keep their outputs)."""
    from torchlane.notebooks.install import filtered_paths
    from torchlane.notebooks.options import OptionError, options_from_settings
    from torchlane.notebooks.strip import NotebookError, strip_bytes
    from torchlane.secrets.sources import index_blobs

    try:
        options = options_from_settings(settings)
    except OptionError as exc:
        return [f"torchlane: [tool.torchlane.notebooks] is invalid: {exc}"]
    unstripped: list[str] = []
    problems: list[str] = []
    for path, blob in index_blobs(git, paths):
        try:
            if strip_bytes(blob, options) != blob:
                unstripped.append(path)
        except NotebookError as exc:
            problems.append(f"{path}: staged content is not a notebook torchlane can check: {exc}")
    if not unstripped:
        return problems
    filtered = filtered_paths(git, unstripped)
    for path in unstripped[:_LISTED]:
        problems.append(f"{path}: staged with outputs or execution counts")
    if len(unstripped) > _LISTED:
        problems.append(f"… and {len(unstripped) - _LISTED} more notebooks staged the same way")
    # A pathspec rather than thousands of names: that command line must fit (E2BIG).
    import shlex  # here: it imports re, which a replayed pass never needs

    named = shlex.join(unstripped) if len(unstripped) <= _LISTED else "'*.ipynb'"
    if filtered == set(unstripped):
        problems.append(
            "  hint: the notebook filter is installed but these were staged with other options "
            f"(or before it was installed): `git add --renormalize -- {named}` stages them "
            "stripped and your files keep their outputs. After changing "
            "[tool.torchlane.notebooks], run `torchlane nb install-filter` again."
        )
    else:
        problems.append(
            f"  hint: `torchlane nb install-filter`, then `git add --renormalize -- {named}`, "
            "commits them stripped and keeps the outputs in your files; "
            "`torchlane nb strip PATH` instead removes the outputs from the files too."
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    hook, _flags, git_args = split_hook_argument(sys.argv[1:] if argv is None else argv)
    status = run_chained(hook, git_args, None)
    if status != 0:
        return status
    from torchlane.errors import TorchlaneError

    try:
        snapshot = load_snapshot(".")
    except TorchlaneError as error:
        print(f"torchlane: {error}", file=sys.stderr)
        return 1
    options = snapshot.section("hooks")
    # `git commit -a` and `git commit PATH` stage into a temporary index named by GIT_INDEX_FILE.
    index = os.environ.get("GIT_INDEX_FILE")
    verdict = Verdict(".", index, str(snapshot.section("secrets")["baseline"]))
    environment = verdict.replay()
    if environment is None:
        started_ns = now_ns()
        checked = check_staged(snapshot, options, index)
        if isinstance(checked, int):
            return checked
        environment = checked
        verdict.keep(environment, started_ns)
    if options["check_environment"] and environment and check_environment():
        return refuse(["environment"])
    return 0


def check_staged(
    snapshot: Snapshot, options: dict[str, object], index: str | None
) -> list[str] | int:
    """The staged notebooks and secrets: the environment files staged if both pass, else the
    hook's exit code (the problems printed)."""
    from torchlane.env.files import is_environment_file
    from torchlane.errors import TorchlaneError
    from torchlane.git import Git
    from torchlane.secrets import sources
    from torchlane.secrets.report import run_scan
    from torchlane.secrets.scan import ScanSettings

    try:
        # Git() drops GIT_INDEX_FILE by default, so pass it on explicitly.
        git = Git(os.getcwd(), env={"GIT_INDEX_FILE": os.path.abspath(index)} if index else None)
        staged = sources.staged_paths(git)
    except TorchlaneError as error:
        print(f"torchlane: {error}", file=sys.stderr)
        return 1
    if not staged:
        return []
    failed: list[str] = []
    notebooks = [p for p in staged if p.endswith(".ipynb")]
    if options["check_notebooks"] and notebooks:
        try:
            problems = check_staged_notebooks(git, notebooks, snapshot.section("notebooks"))
        except TorchlaneError as error:
            problems = [f"torchlane: {error}"]
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            failed.append("notebooks")
    if options["scan_secrets"]:
        report = run_scan(
            git, staged=True, settings=ScanSettings.from_plain(snapshot.section("secrets"))
        )
        for finding in report.findings:
            print(
                f"{finding.location}: {finding.description} ({finding.rule}): {finding.preview}",
                file=sys.stderr,
            )
        if report.findings:
            failed.append("secrets")
    environment = [p for p in staged if is_environment_file(p)]
    if failed:
        if options["check_environment"] and environment and check_environment():
            failed.append("environment")
        return refuse(failed)
    return environment


def refuse(failed: list[str]) -> int:
    print(
        f"torchlane: commit refused ({', '.join(failed)}).\n"
        "  hint: fix what is listed above and commit again; for a secret that is a false "
        "positive add `# torchlane: allow-secret` on its line or run "
        "`torchlane secrets scan --update-baseline`. `git commit --no-verify` skips "
        "every hook (and is visible in review).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
