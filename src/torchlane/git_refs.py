"""Git's named operations on refs, history, notes and remotes (mixed into torchlane.git.Git)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from torchlane.git_run import GitResult, GitRunner

NO_OBJECT = "0" * 40  # as the expected old value of update-ref: "the ref must not exist yet"


class GitRefs(GitRunner):
    # --- what refs point at -------------------------------------------------------------------

    def rev(self, ref: str) -> str | None:
        """The commit a ref points at, or None if it does not exist."""
        result = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return result.stdout.strip() if result.ok else None

    def ref_value(self, full_ref: str) -> str | None:
        """The object a full ref points at (tags stay tag objects), or None."""
        result = self.run("rev-parse", "--verify", "--quiet", full_ref, check=False)
        return result.stdout.strip() if result.ok else None

    def resolve(self, ref: str) -> str:
        """The object `ref` names, which must exist (GitError otherwise)."""
        return self.out("rev-parse", ref)

    def head(self) -> str:
        """The full ref of the checked-out branch, or HEAD's commit when detached."""
        branch = self.run("symbolic-ref", "--quiet", "HEAD", check=False)
        return branch.stdout.strip() if branch.ok else self.resolve("HEAD")

    def branch_exists(self, name: str) -> bool:
        return self.ref_value(f"refs/heads/{name}") is not None

    def tag_exists(self, name: str) -> bool:
        return self.ref_value(f"refs/tags/{name}") is not None

    def current_branch(self) -> str | None:
        """The checked-out branch, or None when HEAD is detached."""
        result = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return result.stdout.strip() if result.ok else None

    def branches(self, pattern: str = "") -> list[str]:
        refs = f"refs/heads/{pattern}" if pattern else "refs/heads/"
        return self.for_each_ref("%(refname:short)", refs)

    def tags(self, pattern: str = "") -> list[str]:
        return self.lines("tag", "--list", pattern) if pattern else self.lines("tag", "--list")

    def for_each_ref(self, fmt: str, *patterns: str) -> list[str]:
        """One line per ref under `patterns` (all refs if none), formatted as `fmt` says."""
        return self.lines("for-each-ref", f"--format={fmt}", *patterns)

    def ref_tips(self, *patterns: str) -> dict[str, str]:
        """Full ref name -> the object it points at, for the refs under `patterns` (or all)."""
        tips: dict[str, str] = {}
        for line in self.for_each_ref("%(refname) %(objectname)", *patterns):
            ref, value = line.rsplit(" ", 1)
            tips[ref] = value
        return tips

    def refs_containing(self, commit: str, prefix: str) -> list[str]:
        """The refs under `prefix` whose history contains `commit`."""
        return self.lines("for-each-ref", "--contains", commit, "--format=%(refname)", prefix)

    # --- history ------------------------------------------------------------------------------

    def rev_list(self, *revisions: str) -> list[str]:
        """The commits `git rev-list REVISIONS` selects (`^rev` excludes), newest first."""
        return self.lines("rev-list", *revisions)

    def count_commits(self, revision: str, *, first_parent: bool = False) -> int:
        options = ["--first-parent"] if first_parent else []
        return int(self.out("rev-list", *options, "--count", revision))

    def left_right_counts(self, left: str, right: str) -> tuple[int, int]:
        """(commits only in `left`, commits only in `right`)."""
        counts = self.out("rev-list", "--left-right", "--count", f"{left}...{right}").split()
        return int(counts[0]), int(counts[1])

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.succeeds("merge-base", "--is-ancestor", ancestor, descendant)

    def merge_base(self, a: str, b: str) -> str | None:
        result = self.run("merge-base", a, b, check=False)
        return result.stdout.strip() if result.ok else None

    def last_change_time(self, path: str) -> int | None:
        """When the last commit touching `path` was made (seconds since the epoch), or None."""
        result = self.run("log", "-1", "--format=%ct", "--", path, check=False)
        return int(result.stdout.strip()) if result.ok and result.stdout.strip() else None

    # --- moving refs --------------------------------------------------------------------------

    def set_ref(
        self, ref: str, value: str, *, expected: str | None = None, message: str | None = None
    ) -> None:
        """Point `ref` at `value`; with `expected`, only if it still points there (NO_OBJECT:
        only if it does not exist)."""
        self.run("update-ref", *self._ref_update(ref, value, expected, message))

    def swap_ref(self, ref: str, value: str, expected: str, *, message: str) -> bool:
        """Point `ref` at `value` if it still points at `expected`; whether it did."""
        return self.succeeds("update-ref", *self._ref_update(ref, value, expected, message))

    @staticmethod
    def _ref_update(ref: str, value: str, expected: str | None, message: str | None) -> list[str]:
        return [
            *(["-m", message] if message else []),
            ref,
            value,
            *([expected] if expected else []),
        ]

    def delete_ref(self, ref: str, *, check: bool = True) -> None:
        self.run("update-ref", "-d", ref, check=check)

    def update_refs(
        self, updates: Iterable[tuple[str, str | None, str | None]], message: str
    ) -> None:
        """Atomically move refs: (full ref, new value or None to delete, expected old or None)."""
        commands: list[str] = ["start"]
        for ref, new, old in updates:
            if new is None:
                commands.append(f"delete {ref}" + (f" {old}" if old else ""))
            elif old is None:
                commands.append(f"update {ref} {new}")
            else:
                commands.append(f"update {ref} {new} {old}")
        commands += ["prepare", "commit"]
        self.run("update-ref", "-m", message, "--stdin", input="\n".join(commands) + "\n")

    def create_branch(self, name: str, start: str) -> None:
        self.run("branch", "--quiet", name, start)

    def delete_branch(self, name: str) -> None:
        """Delete it even if unmerged: callers check what they would lose first."""
        self.run("branch", "--quiet", "-D", name)

    def create_tag(self, name: str, commit: str, message: str) -> None:
        self.run("tag", "--annotate", "--message", message, name, commit)

    # --- notes --------------------------------------------------------------------------------

    def note(self, notes_ref: str, commit: str) -> str | None:
        """The note on `commit` under `notes_ref`, or None when it has none."""
        result = self.run("notes", "--ref", notes_ref, "show", commit, check=False)
        return result.stdout if result.ok else None

    def noted_commits(self, notes_ref: str) -> list[str]:
        """The commits that carry a note under `notes_ref` (which must exist)."""
        return [line.split()[1] for line in self.lines("notes", "--ref", notes_ref, "list")]

    def set_note(
        self, notes_ref: str, commit: str, text: str, env: Mapping[str, str] | None = None
    ) -> None:
        """Replace the note on `commit` with `text`."""
        self.run("notes", "--ref", notes_ref, "add", "-f", "-F", "-", commit, input=text, env=env)

    # --- remotes ------------------------------------------------------------------------------

    def remotes(self) -> list[str]:
        return self.lines("remote")

    def remote_url(self, remote: str) -> str | None:
        result = self.run("remote", "get-url", remote, check=False)
        return result.stdout.strip() if result.ok else None

    def add_remote(self, name: str, url: str) -> None:
        self.run("remote", "add", name, url)

    def fetch(
        self, remote: str, *refspecs: str, options: Sequence[str] = (), check: bool = True
    ) -> GitResult:
        return self.run("fetch", "--quiet", *options, remote, *refspecs, check=check)

    def push(
        self,
        remote: str,
        *refspecs: str,
        options: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> GitResult:
        return self.run("push", "--quiet", *options, remote, *refspecs, check=check, env=env)
