"""The pre-commit hook: staged notebooks, secrets in staged content, environment files.

Run as `python -m torchlane.hooks.precommit --hook "$0"`. Notebook and environment checks are
other torchlane commands (`nb check`, `env check`), run as subprocesses so that this hook works
with whichever of them the installed torchlane has; a missing one is reported and skipped.
"""

from __future__ import annotations

import fnmatch
import os
import sys

from torchlane import proc
from torchlane.config.snapshot import load_snapshot
from torchlane.hooks.chain import run_chained, split_hook_argument

# Files whose change can change the environment (`torchlane env check` verifies it).
ENVIRONMENT_FILES = (
    "Dockerfile*",
    "*.Dockerfile",
    "*.dockerfile",
    "compose*.y*ml",
    "docker-compose*.y*ml",
    "requirements*",
    "constraints*.txt",
    "*.lock",
    "environment.yml",
    "environment.yaml",
    "pyproject.toml",
)


def is_environment_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, pattern) for pattern in ENVIRONMENT_FILES)


def run_torchlane(args: list[str]) -> int | None:
    """Run `torchlane ARGS` with this interpreter; None if this torchlane lacks the command."""
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


def main(argv: list[str] | None = None) -> int:
    hook, _flags, git_args = split_hook_argument(sys.argv[1:] if argv is None else argv)
    status = run_chained(hook, git_args, None)
    if status != 0:
        return status
    from torchlane.errors import TorchlaneError
    from torchlane.git import Git
    from torchlane.secrets import sources
    from torchlane.secrets.report import run_scan
    from torchlane.secrets.scan import ScanSettings

    try:
        snapshot = load_snapshot(".")
        # `git commit -a` and `git commit PATH` stage into a temporary index named by
        # GIT_INDEX_FILE; Git() drops that variable by default, so pass it on explicitly.
        index = os.environ.get("GIT_INDEX_FILE")
        git = Git(os.getcwd(), env={"GIT_INDEX_FILE": os.path.abspath(index)} if index else None)
        staged = sources.staged_paths(git)
    except TorchlaneError as error:
        print(f"torchlane: {error}", file=sys.stderr)
        return 1
    if not staged:
        return 0
    options = snapshot.section("hooks")
    failed: list[str] = []
    notebooks = [p for p in staged if p.endswith(".ipynb")]
    if options["check_notebooks"] and notebooks and run_torchlane(["nb", "check", *notebooks]):
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
    if options["check_environment"] and environment and run_torchlane(["env", "check"]):
        failed.append("environment")
    if failed:
        print(
            f"torchlane: commit refused ({', '.join(failed)}).\n"
            "  hint: fix what is listed above and commit again; for a secret that is a false "
            "positive add `# torchlane: allow-secret` on its line or run "
            "`torchlane secrets scan --update-baseline`. `git commit --no-verify` skips "
            "every hook (and is visible in review).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
