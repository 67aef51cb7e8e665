"""File-system helpers for the paths that must start fast (git hooks, the notebook filter,
`env check`, `check-name`) and for everything else too: only `os` is imported.

- `find_repo` / `git_dir_of`: where the work tree and its git directory are, found without
  running git (a `git rev-parse` costs a process start, about as much as the whole hook).
- `write_atomic`: a temporary file beside the target renamed over it; `os.replace` is atomic on
  POSIX, so a reader or a crash sees the old file or the new one, never half of one.
"""

import os

# A file changed this close to the moment its signature is taken may change again within the
# same timestamp tick, unseen: the stat-keyed caches do not trust such a signature.
RACY_NS = 100_000_000


def stat_signature(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """(mtime_ns, size, inode): the key of every stat-keyed cache; None when there is no file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def git_dir_of(worktree: str) -> str:
    """The git directory of `worktree`: $GIT_DIR (set inside hooks), `.git`, or a linked
    worktree's or submodule's `gitdir:` file."""
    env = os.environ.get("GIT_DIR")
    if env:
        return os.path.normpath(os.path.join(worktree, env))
    dotgit = os.path.join(worktree, ".git")
    if os.path.isfile(dotgit):
        with open(dotgit, encoding="utf-8") as handle:
            target = handle.read().strip().removeprefix("gitdir:").strip()
        return os.path.normpath(os.path.join(worktree, target))
    return dotgit


def find_repo(start: str) -> tuple[str, str | None]:
    """(work-tree root, git dir) by walking up to `.git`; (start, None) outside a repository."""
    current = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current, git_dir_of(current)
        parent = os.path.dirname(current)
        if parent == current:
            return os.path.abspath(start), None
        current = parent


def private_dir(path: "str | os.PathLike[str]") -> str:
    """Create the folder `path` (and its missing parents) for the user alone, whatever the umask:
    every folder this creates gets mode 0o700 exactly. An existing `path` of the user's that
    others may enter is tightened to 0o700; one owned by someone else raises PermissionError.
    Returns the absolute path."""
    target = os.path.abspath(os.fspath(path))
    missing: list[str] = []
    current = target
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # made by someone else meanwhile: judged below if it is the target
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask, chmod's is not
    info = os.stat(target)
    if info.st_uid != os.getuid():
        raise PermissionError(f"{target} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        os.chmod(target, 0o700)
    return target


def write_atomic(
    path: "str | os.PathLike[str]", content: "str | bytes", *, mode: "int | None" = None
) -> None:
    """Write `content` (str as UTF-8) to `path` whole or not at all, creating its folder.

    `mode` sets the permission bits exactly (0o600 for a token, 0o755 for a hook script); the
    temporary file is created with them, so the content is never readable more widely.
    """
    target = os.fspath(path)
    directory = os.path.dirname(target) or "."
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(
        directory, f".{os.path.basename(target)}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    )
    data = content.encode("utf-8") if isinstance(content, str) else content
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode
    )
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
        finally:
            os.close(descriptor)
        if mode is not None:
            os.chmod(temporary, mode)  # the umask may have taken bits away (0o755)
        os.replace(temporary, target)
    except BaseException:
        try:  # noqa: SIM105  (contextlib would cost the hook paths an import)
            os.unlink(temporary)
        except OSError:
            pass
        raise
