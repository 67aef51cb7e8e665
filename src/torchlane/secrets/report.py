"""`torchlane secrets scan`: choose the source, scan, apply the baseline, report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from torchlane.errors import usage_error
from torchlane.git import Git
from torchlane.secrets import sources
from torchlane.secrets.baseline import load_baseline, split_accepted, update_baseline
from torchlane.secrets.scan import Finding, ScanSettings, Skipped

if TYPE_CHECKING:
    from torchlane.secrets.settings import SecretsConfig

ScanMode = Literal["paths", "staged", "history", "push"]


@dataclass(frozen=True, kw_only=True)
class ScanReport:
    mode: ScanMode
    findings: list[Finding]
    scanned: int  # files (paths, staged) or commits (history, push) read
    baselined: int  # findings accepted by the baseline
    baseline: str
    baseline_updated: tuple[int, int] | None = None  # (added, removed) with --update-baseline
    skipped: list[Skipped] = field(default_factory=list)  # binary, too large, excluded...

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def unit(self) -> str:
        return "commit(s)" if self.mode in ("history", "push") else "file(s)"

    @property
    def holding(self) -> int:
        """How many commits (history, push) or files hold the findings."""
        if self.mode in ("history", "push"):
            return len({f.commit for f in self.findings})
        return len({f.path for f in self.findings})


def scan_settings(section: SecretsConfig) -> ScanSettings:
    """The scanner's settings from the project's [secrets] section."""
    return ScanSettings(
        entropy_threshold=section.entropy_threshold,
        min_secret_length=section.min_secret_length,
        exclude=section.exclude,
        max_file_bytes=section.max_file_bytes,
        baseline=section.baseline,
    )


def _path_findings(
    git: Git, root: Path, paths: list[str], settings: ScanSettings
) -> tuple[list[Finding], int, list[Skipped], set[str] | None]:
    if not paths:
        files = sources.repo_files(git)
        found, scanned, skipped = sources.scan_files(root, files, settings)
        return found, scanned, skipped, None
    relative = sources.within(root, paths)
    explicit = [p for p in relative if (root / p).is_file()]
    folders = [p for p in relative if (root / p).is_dir()]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise usage_error(f"{missing[0]} does not exist.", "Pass files or directories to scan.")
    files = sorted(set(explicit) | set(sources.repo_files(git, folders) if folders else []))
    found, scanned, skipped = sources.scan_files(root, files, settings)
    return found, scanned, skipped, set(files)


def run_scan(
    git: Git,
    *,
    paths: list[str] | None = None,
    staged: bool = False,
    history: bool = False,
    revisions: list[str] | None = None,
    settings: ScanSettings | None = None,
    write_baseline: bool = False,
) -> ScanReport:
    """Scan one source (files, the index, all history, or the commits in `revisions`) with
    `settings` (default: the built-in ones; commands pass the project's, the hooks their cache)."""
    if sum([bool(paths), staged, history, revisions is not None]) > 1:
        raise usage_error(
            "Choose one of PATH..., --staged and --history.", "Run the scans one at a time."
        )
    root = git.cwd
    settings = settings or ScanSettings()
    scanned_files: set[str] | None = None
    mode: ScanMode
    if staged:
        mode = "staged"
        found, scanned, skipped = sources.scan_staged(git, settings)
        scanned_files = set(sources.staged_paths(git))
    elif history or revisions is not None:
        mode = "history" if history else "push"
        if git.is_empty():
            found, scanned, skipped = [], 0, []
        else:
            found, scanned, skipped = sources.scan_log(git, revisions or ["--all"], settings)
    else:
        mode = "paths"
        found, scanned, skipped, scanned_files = _path_findings(git, root, paths or [], settings)
    baseline_path = root / settings.baseline
    if write_baseline:
        counts = update_baseline(baseline_path, found, scanned_files)
        return ScanReport(
            mode=mode,
            findings=[],
            scanned=scanned,
            baselined=len(found),
            baseline=settings.baseline,
            baseline_updated=counts,
            skipped=skipped,
        )
    kept, baselined = split_accepted(found, load_baseline(baseline_path))
    return ScanReport(
        mode=mode,
        findings=kept,
        scanned=scanned,
        baselined=baselined,
        baseline=settings.baseline,
        skipped=skipped,
    )
