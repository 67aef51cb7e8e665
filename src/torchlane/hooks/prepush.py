"""The pre-push hook: branch names, no direct pushes to main/develop, no secrets going out.

Run as `python -m torchlane.hooks.prepush --hook "$0" REMOTE URL` with git's ref lines on stdin
(`<local ref> <local sha> <remote ref> <remote sha>`). The checks on names run before anything
heavy is imported (see bench/bench_hooks.py): only `re`, `marshal` and this package's plain
modules. `--no-secrets` stops there (the pre-commit framework's `torchlane-branch-name` hook).
"""

from __future__ import annotations

import os
import sys

from torchlane.config.snapshot import load_snapshot
from torchlane.hooks.chain import run_chained, split_hook_argument
from torchlane.naming_rules import NamingRules, name_problems, suggest, typed_name

ZERO = "0" * 40
HEADS = "refs/heads/"


def parse_updates(text: str) -> list[tuple[str, str, str, str]]:
    """git's pre-push lines; under the pre-commit framework (no stdin), its environment."""
    updates: list[tuple[str, str, str, str]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4:
            updates.append((parts[0], parts[1], parts[2], parts[3]))
    remote_branch = os.environ.get("PRE_COMMIT_REMOTE_BRANCH")
    if not updates and remote_branch:
        local = os.environ.get("PRE_COMMIT_TO_REF", "")
        remote = os.environ.get("PRE_COMMIT_FROM_REF") or ZERO
        updates.append(
            (os.environ.get("PRE_COMMIT_LOCAL_BRANCH", ""), local, remote_branch, remote)
        )
    return updates


def _is_zero(sha: str) -> bool:
    return not sha.strip("0")


def _user_email() -> str:
    from torchlane import proc  # here: only pushes to a protected branch need it

    # Not torchlane.git: the name checks must not pay for its imports.
    return proc.run(["git", "config", "--get", "user.email"], check=False).stdout.strip()


def direct_push_allowed(branch: str, allowed_emails: list[str]) -> str | None:
    """Why a direct push to a protected branch is allowed, or None if it is not: the one rule
    the hook, `finish --push` and every hint that says "push" follow."""
    if os.environ.get("TORCHLANE_ALLOW_PUSH") == "1":
        return f"direct push to '{branch}' allowed by TORCHLANE_ALLOW_PUSH=1"
    if allowed_emails:
        email = _user_email()
        if email and email.lower() in (e.lower() for e in allowed_emails):
            return f"direct push to '{branch}' allowed for {email} (allow_direct_push)"
    return None


def ref_problems(
    updates: list[tuple[str, str, str, str]], naming: NamingRules, options: dict[str, object]
) -> tuple[list[str], list[str]]:
    """Problems that block the push, and notes to print, for each pushed branch."""
    problems: list[str] = []
    notes: list[str] = []
    allowed = [str(e) for e in options["allow_direct_push"]]  # type: ignore[attr-defined]
    for _local_ref, local_sha, remote_ref, remote_sha in updates:
        if not remote_ref.startswith(HEADS):
            continue  # tags and other refs have no naming rules here
        branch = remote_ref[len(HEADS) :]
        deleting = _is_zero(local_sha)
        if options["protect_long_lived"] and branch in (naming.main, naming.develop):
            why = direct_push_allowed(branch, allowed)
            if why:
                notes.append(why)
                continue
            action = "delete" if deleting else "push directly to"
            problems.append(
                f"You may not {action} '{branch}': changes reach it through pull requests.\n"
                f"  hint: push a branch and open a pull request; a release manager can run "
                f"`TORCHLANE_ALLOW_PUSH=1 git push ...` or be listed in "
                f"[tool.torchlane.hooks] allow_direct_push."
            )
            continue
        # Only new branches are judged: renaming a branch others already use does more harm.
        if deleting or not _is_zero(remote_sha) or not options["check_branch_names"]:
            continue
        found, _ = name_problems(branch, naming)
        if found:
            listed = "".join(f"\n  - {p}" for p in found)
            problems.append(
                f"The branch name '{branch}' breaks the naming conventions:{listed}\n"
                f"  hint: rename it, e.g. `git branch -m {typed_name(branch)} {suggest(branch, naming)}`, "
                f"then push again."
            )
    return problems, notes


def _scan_outgoing(updates: list[tuple[str, str, str, str]], secrets: dict[str, object]) -> int:
    from torchlane.git import Git
    from torchlane.secrets.report import run_scan
    from torchlane.secrets.scan import ScanSettings

    git = Git(os.getcwd())
    tips = sorted({local for _, local, _, _ in updates if not _is_zero(local)})
    if not tips:
        return 0
    known_remote = [r for _, _, _, r in updates if not _is_zero(r)]
    if known_remote:  # a remote tip we never fetched cannot be excluded by name
        check = git.run_bytes("cat-file", "--batch-check", input="\n".join(known_remote).encode())
        known_remote = [
            line.split()[0].decode() for line in check.splitlines() if b"missing" not in line
        ]
    revisions = [*tips, "--not", "--remotes", *known_remote]
    report = run_scan(git, revisions=revisions, settings=ScanSettings.from_plain(secrets))
    for finding in report.findings:
        print(
            f"{finding.location}: {finding.description} ({finding.rule}): {finding.preview}",
            file=sys.stderr,
        )
    if report.findings:
        print(
            f"torchlane: push refused: {len(report.findings)} secret(s) in the outgoing commits.\n"
            "  hint: remove them from those commits (`git rebase -i`), rotate the secrets, "
            "then push again; accept false positives with `torchlane secrets scan "
            "--update-baseline` or a `torchlane: allow-secret` comment.",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    hook, flags, git_args = split_hook_argument(sys.argv[1:] if argv is None else argv)
    stdin = b"" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
    status = run_chained(hook, git_args, stdin)
    if status != 0:
        return status
    updates = parse_updates(stdin.decode("utf-8", "replace"))
    if not updates:
        return 0
    try:
        snapshot = load_snapshot(".")
    except Exception as exc:  # the configuration itself is broken: say so, do not crash
        print(f"torchlane: cannot read the configuration: {exc}", file=sys.stderr)
        return 1
    naming = NamingRules.from_settings(snapshot.settings)
    options = snapshot.section("hooks")
    problems, notes = ref_problems(updates, naming, options)
    for note in notes:
        print(f"torchlane: {note}", file=sys.stderr)
    if problems:
        for problem in problems:
            print(f"torchlane: {problem}", file=sys.stderr)
        return 1
    if "--no-secrets" in flags or not options["scan_secrets"]:
        return 0
    return _scan_outgoing(updates, snapshot.section("secrets"))


if __name__ == "__main__":
    sys.exit(main())
