"""Run the gate for a commit: find both records, check they are comparable, judge each metric."""

from __future__ import annotations

from torchlane.errors import TorchlaneError
from torchlane.gate.baseline import BaselineChoice, candidate_branch, resolve_baseline
from torchlane.gate.power import gate_power
from torchlane.gate.rules import (
    GateDecision,
    GateOutcome,
    MetricVerdict,
    adjust,
    default_rule,
    judge_metric,
)
from torchlane.gate.trust import choose, trust_policy, untrusted_hint
from torchlane.git import Git
from torchlane.metrics.record import EvaluationRecord
from torchlane.metrics.store import read_records
from torchlane.project import Project


def _mismatch(baseline: EvaluationRecord, candidate: EvaluationRecord) -> str | None:
    b_data, c_data = baseline.data_fingerprint, candidate.data_fingerprint
    if b_data and c_data and b_data != c_data:
        return (
            f"the two sides were evaluated on different data (data fingerprint "
            f"{b_data[:12]} vs {c_data[:12]})"
        )
    b_pe, c_pe = baseline.per_example, candidate.per_example
    if b_pe and c_pe and b_pe.ids_fingerprint != c_pe.ids_fingerprint:
        return (
            f"the two sides were evaluated on different examples (ids fingerprint "
            f"{b_pe.ids_fingerprint[:12]} vs {c_pe.ids_fingerprint[:12]})"
        )
    return None


def _evaluates(git: Git, branch: str) -> bool:
    """Whether `branch`'s committed configuration names an evaluation (entry, or model and data):
    on first adoption develop has none yet, so `torchlane eval develop` cannot run."""
    import tomllib

    for path, keys in (
        (".torchlane.toml", ("eval",)),
        ("pyproject.toml", ("tool", "torchlane", "eval")),
    ):
        spec = f"refs/heads/{branch}:{path}"
        if not git.succeeds("cat-file", "-e", spec):
            continue
        try:
            table: object = tomllib.loads(git.out("show", spec))
        except tomllib.TOMLDecodeError:
            return True  # not ours to judge here: `torchlane eval` explains a broken file
        for key in keys:
            table = table.get(key) if isinstance(table, dict) else None
        if isinstance(table, dict):
            return bool(table.get("entry") or (table.get("model") and table.get("data")))
    return False


def _no_baseline_hint(git: Git, develop: str) -> str:
    if git.branch_exists(develop) and not _evaluates(git, develop):
        return (
            f"'{develop}' has no eval configuration yet (first adoption), so there is nothing to "
            "compare with: set [tool.torchlane.gate] allow_missing_baseline = true for this first "
            f"merge, or pass --baseline REV of a commit that evaluates; once the eval section is "
            f"on '{develop}', `torchlane eval {develop} && torchlane metrics push` records its "
            "baseline."
        )
    return (
        f"Evaluate a commit on {develop} (`torchlane eval {develop}`) and share it with "
        "`torchlane metrics push`, pass --baseline REV, or set [tool.torchlane.gate] "
        "allow_missing_baseline = true for a first run."
    )


def _key(name: str) -> str:
    """A metric name as a TOML key (quoted unless bare)."""
    import re

    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace('"', '\\"') + '"'


def run_gate(
    ctx: Project,
    rev: str,
    notes_ref: str,
    baseline_override: str | None = None,
    *,
    power_table: bool = False,
) -> GateDecision:
    git, gate = ctx.git, ctx.config.gate
    candidate = git.rev(rev)
    if candidate is None:
        raise TorchlaneError(
            f"'{rev}' is not a commit in this repository.",
            "Give a commit, branch or tag; in a shallow CI clone fetch more history first.",
        )
    read = read_records(git, candidate, notes_ref)
    messages = [f"unreadable note: {p}" for p in read.problems]
    # Which record speaks for each side: provenance (signatures), then note order (trust.py).
    policy = trust_policy(ctx)
    picked = choose(read.records, "candidate", policy)
    messages += picked.messages
    record = picked.record

    def refuse(
        outcome: GateOutcome, message: str, hint: str, baseline: BaselineChoice | None = None
    ) -> GateDecision:
        return GateDecision(
            passed=False,
            outcome=outcome,
            candidate=candidate,
            baseline=baseline,
            confidence=gate.confidence,
            metrics=[],
            messages=[*messages, message],
            hint=hint,
        )

    if record is None:
        return refuse(
            "candidate without records",
            f"The candidate {candidate[:12]} has no metrics recorded.",
            f"Evaluate it first: `torchlane eval {rev}` (or `torchlane metrics pull`).",
        )
    if record.dirty:
        messages.append("the candidate's record was made from a work tree with uncommitted changes")
    branch = candidate_branch(ctx, rev, record.branch)
    choice = resolve_baseline(ctx, candidate, branch, notes_ref, baseline_override)
    if choice.commit is None and choice.rule == "release-tag":
        # The first release of a project has no older release to hold it to; later releases
        # compare with the latest release tag's commit, which CI's tag pipeline records.
        return GateDecision(
            passed=True,
            outcome="first release",
            candidate=candidate,
            baseline=choice,
            confidence=gate.confidence,
            metrics=[],
            messages=[
                *messages,
                f"First release, no baseline: {choice.reason} The gate passes; this release's "
                "tag is the baseline of the next one.",
            ],
        )
    if choice.commit is None:
        allowed = gate.allow_missing_baseline
        return GateDecision(
            passed=allowed,
            outcome="no baseline",
            candidate=candidate,
            baseline=choice,
            confidence=gate.confidence,
            metrics=[],
            messages=[*messages, f"No baseline: {choice.reason}"],
            hint=None if allowed else _no_baseline_hint(git, ctx.config.branches.develop),
        )
    base_read = read_records(git, choice.commit, notes_ref)
    messages += [f"unreadable note: {p}" for p in base_read.problems]
    same_ids = record.per_example.ids_fingerprint if record.per_example else None
    base_pick = choose(base_read.records, "baseline", policy, same_ids=same_ids)
    messages += base_pick.messages
    base_record = base_pick.record
    if base_pick.untrusted is not None:
        return refuse(
            "untrusted baseline",
            f"The baseline {choice.commit[:12]} has no record the gate may trust: "
            f"{base_pick.untrusted} ({choice.reason}).",
            untrusted_hint(choice.commit, policy),
            choice,
        )
    if base_record is None:
        return refuse(
            "baseline without records",
            f"The baseline {choice.commit[:12]} has no metrics recorded ({choice.reason}).",
            (
                f"The tag pipeline of {choice.ref} records it in CI; or evaluate and share it now: "
                f"`torchlane eval {choice.ref} && torchlane metrics push`."
                if choice.rule == "release-tag"
                else f"Evaluate it (`torchlane eval {choice.commit[:12]}`) or fetch the team's "
                "metrics with `torchlane metrics pull`."
            ),
            choice,
        )
    mismatch = _mismatch(base_record, record)
    if mismatch is not None:
        return refuse(
            "mismatched data",
            f"Cannot compare: {mismatch}.",
            "Evaluate both commits on the same data, or pass --baseline with a commit that was.",
            choice,
        )
    verdicts: list[MetricVerdict] = []
    if gate.metrics:
        for name, rule in gate.metrics.items():
            verdicts.append(judge_metric(name, rule, base_record, record, gate))
    else:
        messages.append(
            "no [tool.torchlane.gate.metrics] rules: every metric is judged with no tolerance"
        )
        for name in sorted(set(base_record.metrics) | set(record.metrics)):
            verdicts.append(
                judge_metric(name, default_rule(name), base_record, record, gate, ruled=False)
            )
    verdicts = adjust(verdicts, gate.confidence)
    power = gate_power(verdicts, gate.confidence, table=power_table)
    undirected = [v.metric for v in verdicts if v.verdict == "unknown direction"]
    failed = any(v.verdict == "fail" for v in verdicts)
    passed = not failed and not undirected
    hint = None
    if undirected:
        first = undirected[0]
        hint = (
            f"Say which way is better: [tool.torchlane.gate.metrics.{_key(first)}] "
            f'direction = "higher" (or "lower")'
            + (f", and likewise for {', '.join(undirected[1:])}" if undirected[1:] else "")
            + "."
        )
    return GateDecision(
        passed=passed,
        outcome="pass" if passed else ("fail" if failed else "unknown direction"),
        hint=hint,
        power=power,
        warnings=[p.warning for p in power if p.warning],
        candidate=candidate,
        baseline=choice,
        confidence=gate.confidence,
        metrics=verdicts,
        messages=messages,
    )
