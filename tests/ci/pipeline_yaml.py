"""Reads generated pipelines the way the platforms do: which jobs and steps an event runs, and the
stages their `torchlane ci` commands name. Expressions are evaluated, not pattern-matched, and an
expression these small evaluators do not understand fails the test instead of passing it."""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One event of the branch model: a push of `branch`, a merge request of `branch` into
    `target`, or a tag."""

    kind: str  # push | merge-request | tag
    branch: str | None = None
    target: str | None = None
    tag: str | None = None
    fork: bool = False  # a GitHub pull request from a fork (no push run of its branch)
    label: str = field(default="", compare=False)


def stages_of(script: str) -> list[str]:
    """The --stage values of every `torchlane ci` command in a script (in order)."""
    found: list[str] = []
    for line in script.splitlines():
        if "torchlane ci" not in line:
            continue
        words = shlex.split(line)
        starts = [
            i
            for i in range(len(words) - 1)
            if words[i] == "torchlane"
            and words[i + 1] == "ci"
            and (i + 2 == len(words) or words[i + 2] not in ("generate", "protect"))
        ]
        if not starts:
            continue
        named = [words[i + 1] for i, w in enumerate(words) if w == "--stage"]
        assert named, f"a CI command without --stage runs every stage: {line}"
        found += [s for s in named if s not in found]
    return found


# GitHub ------------------------------------------------------------------------------------


class _Context:
    """A GitHub expression context: missing properties are null, as on GitHub."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def __getattr__(self, name: str) -> Any:
        value = self._values.get(name)
        return _Context(value) if isinstance(value, dict) else value


def _github_eval(
    expression: str,
    github: dict[str, Any],
    status: str = "success",
    needs: dict[str, str] | None = None,
) -> bool:
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    known = re.compile(
        r"\s+|'[^']*'|&&|\|\||!=|==|!|\(|\)|,|[A-Za-z_][A-Za-z0-9_.\-]*(?=\()|"
        r"(github|secrets|vars|env|needs)(\.[A-Za-z_][A-Za-z0-9_\-]*)+|true|false|null"
    )
    python: list[str] = []
    pos = 0
    while pos < len(text):
        match = known.match(text, pos)
        assert match, f"expression not understood at {text[pos:]!r}: {text}"
        token = match.group(0)
        pos = match.end()
        if token == "&&":
            python.append(" and ")
        elif token == "||":
            python.append(" or ")
        elif token == "!":
            python.append(" not ")
        elif token in ("true", "false", "null"):
            python.append({"true": "True", "false": "False", "null": "None"}[token])
        elif "-" in token and not token.startswith("'"):
            python.append(repr(None))  # a context property with a dash: unset in these tests
        else:
            python.append(token)
    functions = {
        "startsWith": lambda a, b: str(a or "").lower().startswith(str(b or "").lower()),
        "endsWith": lambda a, b: str(a or "").lower().endswith(str(b or "").lower()),
        "contains": lambda a, b: str(b or "").lower() in str(a or "").lower(),
        "always": lambda: True,
        "success": lambda: status == "success",
        "failure": lambda: status == "failure",
        "cancelled": lambda: False,
        "hashFiles": lambda *a: "",
        "format": lambda f, *a: f.format(*a),
    }
    scope = {
        "github": _Context(github),
        "secrets": _Context({}),
        "vars": _Context({}),
        "env": _Context({}),
        "needs": _Context({n: {"result": r} for n, r in (needs or {}).items()}),
        **functions,
    }
    return bool(eval("".join(python), {"__builtins__": {}}, scope))


def _github_context(event: Event, repository: str = "acme/vision") -> dict[str, Any]:
    if event.kind == "merge-request":
        return {
            "event_name": "pull_request",
            "ref": "refs/pull/1/merge",
            "ref_name": "1/merge",
            "head_ref": event.branch,
            "base_ref": event.target,
            "repository": repository,
            "event": {
                "pull_request": {
                    "head": {
                        "repo": {
                            "full_name": f"someone/{repository.split('/')[1]}"
                            if event.fork
                            else repository,
                            "fork": event.fork,
                        }
                    },
                    "base": {"repo": {"full_name": repository}},
                }
            },
        }
    ref = f"refs/tags/{event.tag}" if event.kind == "tag" else f"refs/heads/{event.branch}"
    return {
        "event_name": "push",
        "ref": ref,
        "ref_name": event.tag or event.branch,
        "head_ref": "",
        "base_ref": "",
        "repository": repository,
        "event": {},
    }


def _github_triggered(workflow: dict[str, Any], event: Event) -> bool:
    on = workflow.get("on") or workflow.get(True)  # type: ignore[call-overload]  # PyYAML reads a bare `on` as True
    if event.kind == "merge-request":
        spec = on.get("pull_request")
        if spec is None:
            spec = on.get("pull_request_target")
        if spec is None:
            return False
        branches = (spec or {}).get("branches")
        return branches is None or any(fnmatch.fnmatchcase(event.target, b) for b in branches)
    spec = on.get("push")
    if spec is None:
        return False
    spec = spec or {}
    if event.kind == "tag":
        return any(fnmatch.fnmatchcase(event.tag, t) for t in spec.get("tags", []))
    branches = spec.get("branches")
    if branches is None:
        return "tags" not in spec
    return any(fnmatch.fnmatchcase(event.branch, b.replace("**", "*")) for b in branches)


def github_stages(workflow: dict[str, Any], event: Event) -> list[str]:
    """The stages the workflow runs for `event`: jobs whose `if` holds and whose needs ran."""
    if not _github_triggered(workflow, event):
        return []
    github = _github_context(event)
    ran: set[str] = set()
    stages: list[str] = []
    jobs = workflow["jobs"]
    pending = list(jobs)
    while pending:
        progressed = False
        for name in list(pending):
            job = jobs[name]
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if any(n in pending for n in needs):
                continue
            pending.remove(name)
            progressed = True
            condition = str(job.get("if", "success()"))
            needs_ok = all(n in ran for n in needs)
            # Without a status function, a job runs only when every job it needs succeeded.
            explicit = re.search(r"\b(always|cancelled|failure|success)\(", condition)
            if not explicit and not needs_ok:
                continue
            results = {n: "success" if n in ran else "skipped" for n in needs}
            if not _github_eval(condition, github, needs=results):
                continue
            ran.add(name)
            for step in job.get("steps", []):
                if "run" in step and _github_eval(str(step.get("if", "success()")), github):
                    stages += [s for s in stages_of(step["run"]) if s not in stages]
        assert progressed, f"needs form a cycle among {pending}"
    return stages


# GitLab ------------------------------------------------------------------------------------


def _gitlab_variables(event: Event) -> dict[str, str]:
    common = {"CI_PROJECT_ID": "7", "CI_DEFAULT_BRANCH": "main"}
    if event.kind == "merge-request":
        return {
            **common,
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": event.branch or "",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": event.target or "",
            "CI_MERGE_REQUEST_IID": "1",
            "CI_MERGE_REQUEST_PROJECT_ID": "7",
            "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "7",
            "CI_COMMIT_REF_NAME": event.branch or "",
        }
    if event.kind == "tag":
        return {
            **common,
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_TAG": event.tag or "",
            "CI_COMMIT_REF_NAME": event.tag or "",
        }
    return {
        **common,
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_BRANCH": event.branch or "",
        "CI_COMMIT_REF_NAME": event.branch or "",
    }


_TOKEN = re.compile(r"\s+|\$\w+|\"[^\"]*\"|'[^']*'|==|!=|=~|!~|&&|\|\||\(|\)|null")


_REGEX = re.compile(r"\s+|/(?:\\.|[^/\\])*/i?")


def _gitlab_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        after_match_operator = bool(tokens) and tokens[-1] in ("=~", "!~")
        match = (_REGEX if after_match_operator else _TOKEN).match(text, pos)
        assert match, f"GitLab rule not understood at {text[pos:]!r}: {text}"
        assert match.end() > pos, f"GitLab rule not understood at {text[pos:]!r}: {text}"
        pos = match.end()
        if match.group(0).strip():
            tokens.append(match.group(0).strip())
    return tokens


def _gitlab_value(token: str, variables: dict[str, str]) -> str | None:
    if token.startswith("$"):
        return variables.get(token[1:]) or None  # an empty variable is null in rules
    if token == "null":
        return None
    return token[1:-1]


def _gitlab_eval(expression: str, variables: dict[str, str]) -> bool:
    """GitLab's rules:if grammar: comparisons, regex matches, &&, || and parentheses."""
    tokens = _gitlab_tokens(expression)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary() -> bool:
        if peek() == "(":
            take()
            value = disjunction()
            assert take() == ")", expression
            return value
        left = _gitlab_value(take(), variables)
        if peek() not in ("==", "!=", "=~", "!~"):
            return bool(left)
        op, right = take(), take()
        if op in ("=~", "!~"):
            flags = re.IGNORECASE if right.endswith("i") else 0
            pattern = right.rstrip("i")[1:-1].replace("\\/", "/")
            found = left is not None and re.search(pattern, left, flags) is not None
            return found if op == "=~" else not found
        other = _gitlab_value(right, variables)
        return (left == other) if op == "==" else (left != other)

    def conjunction() -> bool:
        value = primary()
        while peek() == "&&":
            take()
            value = primary() and value
        return value

    def disjunction() -> bool:
        value = conjunction()
        while peek() == "||":
            take()
            value = conjunction() or value
        return value

    result = disjunction()
    assert pos == len(tokens), f"GitLab rule not understood: {expression}"
    return result


def _gitlab_rules_run(rules: list[dict[str, Any]] | None, variables: dict[str, str]) -> bool:
    if rules is None:
        return True
    for rule in rules:
        if "if" not in rule or _gitlab_eval(rule["if"], variables):
            return rule.get("when", "on_success") != "never"
    return False


RESERVED = {
    "workflow",
    "variables",
    "stages",
    "default",
    "include",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
}


def gitlab_stages(pipeline: dict[str, Any], event: Event) -> list[str]:
    variables = _gitlab_variables(event)
    if not _gitlab_rules_run(pipeline.get("workflow", {}).get("rules"), variables):
        return []
    stages: list[str] = []
    for name, job in pipeline.items():
        if name in RESERVED or name.startswith(".") or not isinstance(job, dict):
            continue
        if _gitlab_rules_run(job.get("rules"), variables):
            script = "\n".join(job.get("script", []))
            stages += [s for s in stages_of(script) if s not in stages]
    return stages
