"""The GitHub Actions the generated workflow uses, pinned by commit: the table in actions.json.

One row per action: its version tag, the full commit SHA that tag points to, and where that was
read. The workflow names each action as `owner/repo@SHA` with `# vX.Y.Z` after it, so a moved or
deleted tag cannot change what runs. A new row (or a new SHA) ships in a torchlane release;
`torchlane ci generate` then rewrites the workflow, since its generated content changed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, kw_only=True)
class PinnedAction:
    action: str  # owner/repo
    version: str  # the tag, e.g. v7.0.1
    sha: str  # the commit the tag points to
    source: str  # where the tag was read

    @property
    def uses(self) -> str:
        return f"{self.action}@{self.sha}"


@cache
def pinned_actions() -> dict[str, PinnedAction]:
    text = resources.files("torchlane.ci").joinpath("actions.json").read_text("utf-8")
    rows = json.loads(text)["actions"]
    table = {row["action"]: PinnedAction(**row) for row in rows}
    for row in table.values():
        if not _SHA.fullmatch(row.sha):
            raise ValueError(f"actions.json: {row.action} is not pinned by a full commit SHA")
    return table


def uses(action: str) -> str:
    """`owner/repo@SHA` for a `uses:` line."""
    return pinned_actions()[action].uses


def annotate_versions(text: str) -> str:
    """Add `# vX.Y.Z` after every pinned `uses:` line of a dumped workflow."""
    by_uses = {row.uses: row.version for row in pinned_actions().values()}

    def comment(match: re.Match[str]) -> str:
        version = by_uses.get(match.group(2))
        return match.group(0) + (f" # {version}" if version else "")

    return re.sub(r"^(\s*(?:- )?uses: )(\S+)$", comment, text, flags=re.MULTILINE)
