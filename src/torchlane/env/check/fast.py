"""`torchlane env check` on the hook path: no click, pydantic or rich, and a cache.

`python -m torchlane env check` reaches `main` through the dispatcher in torchlane/__main__.py.
A run whose inputs are unchanged (same git index, same HEAD, same files by stat, same torchlane)
replays the previous output from <git dir>/torchlane/env-check.cache without importing anything
beyond `marshal`; a cache miss runs the static check (torchlane.env.check.static) and stores its output.
"""

import marshal
import os
import sys
import time

from torchlane import __version__
from torchlane.leanfs import RACY_NS, find_repo, stat_signature, write_atomic

CACHE_NAME = "env-check.cache"
_CACHE_FORMAT = 1


def _code_stamp() -> list[object]:
    # The check's own code, its rules and the matrix all live under torchlane/env: any edit there
    # (an editable install being worked on) must invalidate a replayed result.
    env_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = sorted(
        os.path.join(folder, name)
        for folder in (env_dir, os.path.join(env_dir, "check"))
        for name in os.listdir(folder)
        if name.endswith((".py", ".json"))
    )
    return [__version__, _CACHE_FORMAT, sys.version_info[:2], *(stat_signature(f) for f in files)]


def _branch_refs(git_dir: str) -> list[str]:
    """The files that move when the current branch gets a commit (commit times feed a rule)."""
    common = git_dir
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            common = os.path.normpath(os.path.join(git_dir, handle.read().strip()))
    except OSError:
        pass  # not a linked worktree
    refs = [os.path.join(common, "packed-refs")]
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8") as handle:
            head = handle.read().strip()
    except OSError:
        return refs
    if head.startswith("ref: "):
        refs.append(os.path.join(common, *head[5:].split("/")))
    return refs


def _watched(root: str, git_dir: str, files: list[str]) -> list[str]:
    base = [os.path.join(git_dir, "index"), os.path.join(git_dir, "HEAD"), *_branch_refs(git_dir),
            os.path.join(root, "pyproject.toml"), os.path.join(root, ".torchlane.toml")]  # fmt: skip
    return base + [os.path.join(root, f) for f in files]


def _load(cache_path: str, root: str) -> dict[str, object] | None:
    try:
        with open(cache_path, "rb") as handle:
            entry = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(entry, dict) or entry.get("code") != _code_stamp():
        return None
    return entry if entry.get("root") == root else None


def _replay(entry: dict[str, object], kind: str) -> int | None:
    watched, code = entry.get("watched"), entry.get("exit")
    if entry.get("racy") or not isinstance(watched, list) or not isinstance(code, int):
        return None
    if [stat_signature(p) for p in watched] != entry.get("stats"):
        return None
    output = entry.get(kind)
    if not isinstance(output, str):
        return None
    sys.stdout.write(output)
    return code


def _store(
    cache_path: str,
    *,
    root: str,
    git_dir: str,
    files: list[str],
    outputs: dict[str, str],
    code: int,
    started_ns: int,
    memo: object,
) -> None:
    watched = _watched(root, git_dir, files)
    stats = [stat_signature(p) for p in watched]
    racy = any(s is not None and s[0] >= started_ns - RACY_NS for s in stats)
    entry = {
        "code": _code_stamp(),
        "root": root,
        "watched": watched,
        "stats": stats,
        "racy": racy,
        "exit": code,
        "memo": memo,
        **outputs,
    }
    try:  # noqa: SIM105  (contextlib would cost the hook path an import)
        write_atomic(cache_path, marshal.dumps(entry))
    except (OSError, ValueError):
        pass  # a read-only .git (or a value marshal cannot store) only costs speed


def run(start: str, as_json: bool, use_cache: bool = True, quiet: bool = False) -> int:
    """Check the repository containing `start`, print the result, return the exit code.

    quiet (the pre-commit hook): print nothing when nothing was checked and nothing was found."""
    kind = "json" if as_json else "quiet" if quiet else "text"
    root, git_dir = find_repo(start)
    cache_path = os.path.join(git_dir, "torchlane", CACHE_NAME) if git_dir else None
    entry = _load(cache_path, root) if cache_path and use_cache else None
    if entry is not None:
        replayed = _replay(entry, kind)
        if replayed is not None:
            return replayed
    started_ns = time.time_ns()
    from pathlib import Path

    from torchlane.env.check import memo
    from torchlane.env.check.static import run_check

    if entry is not None:
        memo.load(entry.get("memo"))
    from torchlane.env.check.report import render_json, render_text

    report = run_check(Path(root))
    text = render_text(report)
    silent = not report.files and not report.findings
    outputs = {"json": render_json(report), "text": text, "quiet": "" if silent else text}
    if cache_path and git_dir:
        _store(
            cache_path,
            root=root,
            git_dir=git_dir,
            files=report.watched,
            outputs=outputs,
            code=report.exit_code,
            started_ns=started_ns,
            memo=memo.used(),
        )
    sys.stdout.write(outputs[kind])
    return report.exit_code


def main(argv: list[str]) -> int | None:
    """Entry for the dispatcher: None hands anything unusual (--help, typos) to the full CLI."""
    as_json, start, use_cache, quiet = False, ".", True, False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--json":
            as_json = True
        elif arg == "--no-cache":
            use_cache = False
        elif arg == "--quiet":
            quiet = True
        elif arg in ("-C", "--repo") and args:
            start = args.pop(0)
        elif arg.startswith("--repo="):
            start = arg.split("=", 1)[1]
        else:
            return None
    if not os.path.isdir(start):
        return None  # let click report the bad path
    try:
        return run(start, as_json, use_cache, quiet)
    except Exception as exc:
        from torchlane.errors import TorchlaneError

        if not isinstance(exc, TorchlaneError):
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
