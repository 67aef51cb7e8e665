"""Run a GitHub Actions job's steps on this machine, as the runner would.

- Expressions (`${{ }}`, `if:`) are evaluated with GitHub's rules: `&&`/`||` return an operand,
  `==` compares strings case-insensitively, a missing property is null, status functions.
- `run:` steps are executed with `bash --noprofile --norc -eo pipefail` (the `shell: bash`
  command line) in the workspace, with the variables the runner sets (GITHUB_WORKSPACE, GITHUB_REF,
  GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH,
  GITHUB_STEP_SUMMARY, RUNNER_TEMP, ...); GITHUB_OUTPUT, GITHUB_ENV and GITHUB_PATH are read back
  after each step as the runner does.
- `uses:` steps are replaced by their local equivalents: checkout clones the origin and checks out
  the ref as actions/checkout does; setup-python puts a job venv first on PATH; upload-artifact
  copies the files; the other actions (comment, docker) are recorded, not run.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------------- expressions

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|'(?P<str>(?:[^']|'')*)'|(?P<op>==|!=|<=|>=|&&|\|\||[!<>().,\[\]*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"cannot parse expression at {text[pos:]!r}")
        pos = match.end()
        if match.group("num") is not None:
            out.append(("lit", float(match.group("num"))))
        elif match.group("str") is not None:
            out.append(("lit", match.group("str").replace("''", "'")))
        elif match.group("op") is not None:
            out.append(("op", match.group("op")))
        else:
            name = match.group("name")
            literal = {"true": True, "false": False, "null": None}
            out.append(("lit", literal[name]) if name in literal else ("name", name))
    return out


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "")


def _loose(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class _Parser:
    def __init__(
        self, text: str, context: dict[str, Any], functions: dict[str, Callable[..., Any]]
    ):
        self.tokens = _tokens(text)
        self.i = 0
        self.context = context
        self.functions = functions

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, op: str | None = None) -> tuple[str, Any]:
        token = self.tokens[self.i]
        if op is not None and token != ("op", op):
            raise ValueError(f"expected {op}, got {token}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ValueError(f"trailing tokens {self.tokens[self.i :]}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.unary()
            equal = _loose(value) == _loose(right)
            value = equal if op == "==" else not equal
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        kind, value = self.take()
        if (kind, value) == ("op", "("):
            value = self.or_()
            self.take(")")
        elif kind == "name" and self.peek() == ("op", "("):
            self.take()
            args = []
            while self.peek() != ("op", ")"):
                args.append(self.or_())
                if self.peek() == ("op", ","):
                    self.take()
            self.take(")")
            return self.functions[value.lower()](*args)
        elif kind == "name":
            value = self.context.get(value)
        elif kind != "lit":
            raise ValueError(f"unexpected {value}")
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            value = value.get(key) if isinstance(value, dict) else None
        return value


def _format(template: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: to_text(args[int(m.group(1))]), template)


# ---------------------------------------------------------------------------------- the runner


@dataclass
class Event:
    """What triggered the run (the fields of the `github` context the workflow reads)."""

    name: str  # push | pull_request
    ref: str  # refs/heads/develop, refs/tags/v1.0.0, refs/pull/7/merge
    sha: str = "0" * 40
    head_ref: str = ""
    base_ref: str = ""
    head_sha: str = ""
    fork: bool = False
    number: int = 7
    repository: str = "Acme/Vision"
    actor: str = "octocat"

    def github(self, job: str, workspace: Path) -> dict[str, Any]:
        ref_name = self.ref.split("/", 2)[2] if self.ref.count("/") >= 2 else self.ref
        if self.name == "pull_request":
            ref_name = f"{self.number}/merge"
        event: dict[str, Any] = {}
        if self.name == "pull_request":
            head_repo = "someone/vision" if self.fork else self.repository
            event["pull_request"] = {
                "number": self.number,
                "head": {
                    "sha": self.head_sha,
                    "ref": self.head_ref,
                    "repo": {"full_name": head_repo, "fork": self.fork},
                },
                "base": {"ref": self.base_ref, "repo": {"full_name": self.repository}},
            }
        return {
            "event_name": self.name,
            "event": event,
            "ref": self.ref,
            "ref_name": ref_name,
            "ref_type": "tag" if self.ref.startswith("refs/tags/") else "branch",
            "sha": self.sha,
            "head_ref": self.head_ref,
            "base_ref": self.base_ref,
            "repository": self.repository,
            "repository_owner": self.repository.split("/")[0],
            "actor": self.actor,
            "workflow": "torchlane",
            "job": job,
            "run_id": "4242",
            "run_number": "1",
            "run_attempt": "1",
            "server_url": "https://github.com",
            "api_url": "https://api.github.com",
            "token": "ghs_localtesttoken",
            "workspace": str(workspace),
        }


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped | recorded (a `uses:` step not run here)
    output: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # the step's own `env:`, evaluated


@dataclass
class JobResult:
    ran: bool
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""

    @property
    def conclusion(self) -> str:
        failed = any(s.outcome == "failure" for s in self.steps)
        return "skipped" if not self.ran else ("failure" if failed else "success")

    def step(self, prefix: str) -> StepResult:
        return next(s for s in self.steps if s.name.startswith(prefix))


class Expressions:
    def __init__(self, context: dict[str, Any], workspace: Path, status: Callable[[], str]):
        self.context = context
        self.workspace = workspace
        self.status = status
        self.functions: dict[str, Callable[..., Any]] = {
            "startswith": lambda a, b: to_text(a).lower().startswith(to_text(b).lower()),
            "endswith": lambda a, b: to_text(a).lower().endswith(to_text(b).lower()),
            "contains": lambda a, b: (
                any(_loose(x) == _loose(b) for x in a)
                if isinstance(a, list)
                else to_text(b).lower() in to_text(a).lower()
            ),
            "format": _format,
            "fromjson": json.loads,
            "tojson": json.dumps,
            "hashfiles": self.hash_files,
            "always": lambda: True,
            "cancelled": lambda: False,
            "success": lambda: self.status() == "success",
            "failure": lambda: self.status() == "failure",
        }

    def hash_files(self, *patterns: str) -> str:
        files = sorted(
            p
            for p in self.workspace.rglob("*")
            if p.is_file()
            and ".git" not in p.relative_to(self.workspace).parts
            and any(fnmatch.fnmatch(str(p.relative_to(self.workspace)), x) for x in patterns)
        )
        if not files:
            return ""
        digest = hashlib.sha256()
        for path in files:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def evaluate(self, text: str) -> Any:
        return _Parser(text, self.context, self.functions).parse()

    def condition(self, text: str | bool | None) -> bool:
        if text is None:
            return bool(self.functions["success"]())
        if isinstance(text, bool):
            return text
        text = text.strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        # A condition without a status function is implicitly `success() && (...)`.
        if not re.search(r"\b(always|cancelled|success|failure)\s*\(", text):
            return bool(self.functions["success"]()) and truthy(self.evaluate(text))
        return truthy(self.evaluate(text))

    def interpolate(self, value: Any) -> Any:
        if isinstance(value, str):
            return re.sub(r"\$\{\{(.*?)\}\}", lambda m: to_text(self.evaluate(m.group(1))), value)
        if isinstance(value, dict):
            return {k: self.interpolate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.interpolate(v) for v in value]
        return value


def job_condition(
    workflow: dict[str, Any], job_id: str, event: Event, needs: dict[str, str] | None = None
) -> bool:
    """Whether the job runs for `event` (its `needs` concluded as given, success by default)."""
    job = workflow["jobs"][job_id]
    wanted = job.get("needs", [])
    wanted = [wanted] if isinstance(wanted, str) else wanted
    results = {n: (needs or {}).get(n, "success") for n in wanted}
    context = {
        "github": event.github(job_id, Path(".")),
        "needs": {n: {"result": r, "outputs": {}} for n, r in results.items()},
        "vars": {},
        "inputs": {},
    }
    status = "success" if all(r == "success" for r in results.values()) else "failure"
    expressions = Expressions(context, Path("."), lambda: status)
    return expressions.condition(job.get("if"))


def expression_value(workflow_text_value: str, event: Event, job_id: str = "checks") -> Any:
    """The value of a `${{ }}` string (e.g. runs-on, concurrency) for an event."""
    expressions = Expressions(
        {"github": event.github(job_id, Path("."))}, Path("."), lambda: "success"
    )
    text = workflow_text_value.strip()
    if text.startswith("${{") and text.endswith("}}") and text.count("${{") == 1:
        return expressions.evaluate(text[3:-2])
    return expressions.interpolate(text)


UsesHandler = Callable[[dict[str, Any], "JobRun"], str]


@dataclass
class JobRun:
    workflow: dict[str, Any]
    job_id: str
    event: Event
    origin: Path
    workspace: Path
    temp: Path
    python_bin: Path  # the job's Python (setup-python's local equivalent)
    secrets: dict[str, str] = field(default_factory=dict)
    base_env: dict[str, str] = field(default_factory=dict)
    artifacts: Path | None = None
    recorded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def checkout(self, inputs: dict[str, Any], run: JobRun) -> str:
        assert inputs.get("persist-credentials") is False, "checkout keeps the token in .git"
        self.workspace.mkdir(parents=True, exist_ok=True)
        git = ["git", "-C", str(self.workspace)]
        subprocess.run(["git", "init", "--quiet", str(self.workspace)], check=True)
        subprocess.run([*git, "remote", "add", "origin", str(self.origin)], check=True)
        deep = int(inputs.get("fetch-depth", 1)) == 0
        fetch = [*git, "fetch", "--quiet", "--prune", "origin"]
        if not deep:
            fetch.append("--depth=1")
        subprocess.run(
            [*fetch, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
            check=True,
        )
        ref = inputs.get("ref") or self.event.sha
        branch = self.event.ref.removeprefix("refs/heads/")
        if self.event.ref.startswith("refs/heads/") and ref == self.event.sha:
            subprocess.run(
                [*git, "checkout", "--quiet", "--force", "-B", branch, f"origin/{branch}"],
                check=True,
            )
        else:
            subprocess.run([*git, "checkout", "--quiet", "--force", "--detach", ref], check=True)
        return f"checked out {ref}"

    def upload(self, inputs: dict[str, Any], run: JobRun) -> str:
        source = self.workspace / inputs["path"]
        if self.artifacts is not None and source.exists():
            import shutil

            shutil.copytree(source, self.artifacts / inputs["name"], dirs_exist_ok=True)
        return f"kept {inputs['path']}"

    def handler(self, action: str) -> UsesHandler | None:
        return {
            "actions/checkout": self.checkout,
            "actions/setup-python": lambda inputs, run: f"python {inputs['python-version']}",
            "actions/upload-artifact": self.upload,
        }.get(action)

    def run(self) -> JobResult:
        job = self.workflow["jobs"][self.job_id]
        github = self.event.github(self.job_id, self.workspace)
        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(github["event"]), "utf-8")
        steps_context: dict[str, Any] = {}
        context: dict[str, Any] = {
            "github": github,
            "secrets": {"GITHUB_TOKEN": github["token"], **self.secrets},
            "steps": steps_context,
            "runner": {"os": "Linux", "temp": str(self.temp)},
            "job": {"status": "success"},
            "needs": {},
            "vars": {},
            "inputs": {},
            "env": {},
        }
        result = JobResult(ran=True)

        def status() -> str:
            return "failure" if any(s.outcome == "failure" for s in result.steps) else "success"

        expressions = Expressions(context, self.workspace, status)
        runner_env = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_REF_TYPE": github["ref_type"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_HEAD_REF": github["head_ref"],
            "GITHUB_BASE_REF": github["base_ref"],
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_ACTOR": github["actor"],
            "GITHUB_JOB": self.job_id,
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_NUMBER": github["run_number"],
            "GITHUB_WORKFLOW": github["workflow"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_API_URL": github["api_url"],
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.temp),
        }
        job_env = {k: to_text(v) for k, v in expressions.interpolate(job.get("env", {})).items()}
        env: dict[str, str] = {**self.base_env, **runner_env, **job_env}
        path_prefix: list[str] = []
        shell = self.workflow.get("defaults", {}).get("run", {}).get("shell")
        assert shell == "bash", "the workflow names its shell"
        for index, step in enumerate(job["steps"]):
            name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            context["env"] = env
            if not expressions.condition(step.get("if")):
                result.steps.append(StepResult(name, "skipped"))
                continue
            step_env = {
                k: to_text(v) for k, v in expressions.interpolate(step.get("env", {})).items()
            }
            if "uses" in step:
                action = step["uses"].split("@")[0]
                inputs = expressions.interpolate(step.get("with", {}))
                handle = self.handler(action)
                if handle is None:
                    self.recorded.append((action, inputs))
                    result.steps.append(StepResult(name, "recorded", env=step_env))
                else:
                    result.steps.append(
                        StepResult(name, "success", handle(inputs, self), env=step_env)
                    )
                continue
            files = {
                key: self.temp / f"{key.lower()}_{index}"
                for key in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
            }
            for file in files.values():
                file.write_text("", "utf-8")
            script = self.temp / f"step_{index}.sh"
            script.write_text(step["run"], "utf-8")
            path = os.pathsep.join(
                [*path_prefix, str(self.python_bin), env.get("PATH", os.environ["PATH"])]
            )
            run_env = {
                **env,
                **step_env,
                **{k: str(v) for k, v in files.items()},
                "PATH": path,
            }
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.workspace / step.get("working-directory", "."),
                env=run_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
                timeout=600,
            )
            outputs = _read_pairs(files["GITHUB_OUTPUT"].read_text("utf-8"))
            env.update(_read_pairs(files["GITHUB_ENV"].read_text("utf-8")))
            path_prefix = [
                line for line in files["GITHUB_PATH"].read_text("utf-8").splitlines() if line
            ] + path_prefix
            result.summary += files["GITHUB_STEP_SUMMARY"].read_text("utf-8")
            failed = done.returncode != 0 and not step.get("continue-on-error")
            outcome = "failure" if failed else "success"
            result.steps.append(StepResult(name, outcome, done.stdout, outputs, step_env))
            if "id" in step:
                steps_context[step["id"]] = {"outputs": outputs, "outcome": outcome}
        return result


def _read_pairs(text: str) -> dict[str, str]:
    """NAME=value lines and NAME<<DELIMITER blocks, as in GITHUB_OUTPUT and GITHUB_ENV."""
    pairs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            pairs[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            pairs[key] = value
    return pairs
