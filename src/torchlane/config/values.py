"""What a configuration string that reaches a generated file may be, checked when it loads.

A pull request that edits only pyproject.toml must not be able to make `env generate` or
`ci generate` emit an extra compose key, Dockerfile instruction, shell command or workflow
expression. So each such value is validated by what it is (an image reference, a path inside the
repository, a branch name by git's rules, a size); the generators also quote for their targets
(yamlout, shlex.quote, JSON arrays), so neither defence relies on the other.

Names that reach CI are held to a conservative alphabet on top of git's own rules: git accepts
`$(...)`, quotes and `${{ }}` in a branch name, which GitHub would evaluate in `run:` lines and
expressions, and which GitLab's `rules:` literals cannot escape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from torchlane.naming_rules import ref_format_problem

# Letters (any script), digits, '_', '.', '-', and '/' between components.
_NAME_CHARS = re.compile(r"[\w./-]*")
# A path inside the repository: the same, plus '+', '@' (wheel and lock names use them) and
# spaces inside a component (the emitters quote every path).
_PATH_CHARS = re.compile(r"[\w.+@/ -]+")
# The OCI distribution reference grammar (distribution/reference), ASCII only.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*", re.ASCII)
_TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
# docker's RAMInBytes (compose's shm_size and memory): a number and an optional binary unit.
_DOCKER_SIZE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[kmgtp]i?b?|b)?", re.ASCII | re.IGNORECASE)
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A URL pip can read, without the characters a shell or a CI expression would act on ($, quotes,
# backquotes, braces, parentheses, backslashes, spaces): percent-encode them.
_URL = re.compile(r"[A-Za-z0-9._~:/?#@!&*+,;=%\[\]-]+")


def _validator(check: Callable[[str], str]) -> AfterValidator:
    return AfterValidator(check)


HINT_KEY = "torchlane_hint"


def _refuse(message: str, hint: str) -> PydanticCustomError:
    """A refusal whose message is one sentence and whose hint config.load shows as the hint."""
    # The message is pydantic's template, formatted with the context: only `{torchlane_hint}`
    # would be replaced, and it is not in the message.
    return PydanticCustomError("torchlane_value", message, {HINT_KEY: hint})


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 80 else repr(value[:77] + "...")


def branch_name_problem(value: str) -> str | None:
    """Why `value` cannot be a long-lived branch name torchlane writes into CI files, or None."""
    problem = ref_format_problem(value)
    if problem is not None:
        return f"git refuses it as a branch name: {problem}"
    if value == "@":
        return "git refuses it as a branch name: '@' alone names HEAD"
    if not _NAME_CHARS.fullmatch(value):
        return "use letters, digits, '_', '.', '-' and '/' only (it reaches CI files and shell)"
    return None


def check_branch(value: str) -> str:
    problem = branch_name_problem(value)
    if problem is not None:
        raise _refuse(
            f"{_shown(value)} is not a usable branch name: {problem}",
            "Name it with letters, digits, '_', '.', '-' and '/', e.g. 'develop'.",
        )
    return value


def check_branch_prefix(value: str) -> str:
    """`feature/`: a branch-name start ending with '/'."""
    problem = branch_name_problem(value + "x") if value.endswith("/") else None
    if not value.endswith("/") or not value.strip("/") or problem is not None:
        raise _refuse(
            f"{_shown(value)} is not a usable prefix: "
            + (problem or "a prefix is a branch-name start ending with '/'"),
            "Write it as letters, digits, '_', '.' or '-' ending with '/', e.g. 'feature/'.",
        )
    return value


def check_tag_prefix(value: str) -> str:
    """`v` (or empty): what a release tag starts with before its version."""
    problem = branch_name_problem(value + "1.0.0") if value else None
    if problem is not None:
        raise _refuse(
            f"{_shown(value)} is not a usable tag prefix: {problem}",
            "Use letters, digits, '_', '.', '-' and '/', e.g. 'v' or 'release-'.",
        )
    return value


def check_remote(value: str) -> str:
    """A git remote's name, as `git remote add` accepts it, in a conservative alphabet."""
    if not _LABEL.fullmatch(value) or ref_format_problem(f"refs/remotes/{value}/x") is not None:
        raise _refuse(
            f"{_shown(value)} is not a usable remote name",
            "Use letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. 'origin'.",
        )
    return value


def check_notes_ref(value: str) -> str:
    """A notes ref, full (refs/notes/x) or short (x, meaning refs/notes/x): under refs/notes/
    (notes.notes_ref_problem, which `--notes-ref` options use too) and in the CI-safe alphabet."""
    from torchlane.notes import notes_ref_problem

    under_notes = notes_ref_problem(value)
    if under_notes is not None:
        raise _refuse(
            under_notes,
            "Use a ref under refs/notes/, e.g. 'refs/notes/torchlane' or just 'torchlane'.",
        )
    full = value if value.startswith("refs/") else f"refs/notes/{value}"
    problem = branch_name_problem(full)
    if problem is not None:
        raise _refuse(
            f"{_shown(value)} is not a usable notes ref: {problem}",
            "Use a ref name of letters, digits, '_', '.', '-' and '/', e.g. 'refs/notes/torchlane'.",
        )
    return value


def repository_path_problem(value: str) -> str | None:
    if not value:
        return "it is empty"
    if not _PATH_CHARS.fullmatch(value):
        return (
            "it holds characters other than letters, digits, spaces, '_', '.', '-', '+', '@', '/'"
        )
    if value.startswith(("/", "-")):
        return "it must be relative to the repository's root and not start with '-'"
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "it must not contain '..', '.' or empty components"
    if any(part != part.strip() for part in parts):
        return "a component must not start or end with a space"
    return None


def check_repository_path(value: str) -> str:
    problem = repository_path_problem(value)
    if problem is not None:
        raise _refuse(
            f"{_shown(value)} is not a path inside the repository: {problem}",
            "Give a relative path such as 'requirements.lock' or 'ci/artifacts'.",
        )
    return value


def image_reference_problem(value: str, *, name_only: bool = False) -> str | None:
    name, at, digest = value.partition("@")
    tag = ""
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    if name_only and (at or tag):
        return "it has a tag or digest, which each release sets"
    if not _IMAGE_NAME.fullmatch(name) or len(name) > 255:
        return "the name is not [registry/]path in lowercase letters, digits, '.', '_' and '-'"
    if colon > slash and not _TAG.fullmatch(tag):
        return "a tag is letters, digits, '_', '.' and '-' (at most 128)"
    if at and not _DIGEST.fullmatch(digest):
        return "a digest is ALGORITHM:HEX, e.g. 'sha256:' and 64 hex digits"
    return None


def check_image_reference(value: str) -> str:
    problem = image_reference_problem(value)
    if problem is not None:
        raise _refuse(
            f"{_shown(value)} is not an image reference: {problem}",
            "Write it as [registry/]name[:tag][@digest], e.g. 'python:3.12-slim' or "
            "'ghcr.io/org/app:1.0'.",
        )
    return value


def check_image_name(value: str) -> str:
    """An image's name without tag or digest; capitals are allowed (it is lowercased where used,
    as registries refuse them while repository paths may have them)."""
    problem = image_reference_problem(value.lower(), name_only=True)
    if problem is not None:
        raise _refuse(
            f"{_shown(value)} is not an image name: {problem}",
            "Give the name only, e.g. 'ghcr.io/org/app'.",
        )
    return value


def check_docker_size(value: str) -> str:
    if not _DOCKER_SIZE.fullmatch(value) or not any(c in "123456789" for c in value):
        raise _refuse(
            f"{_shown(value)} is not a size docker reads",
            "Write a number and a unit b, k, m, g, t or p, e.g. '8g' or '512m'.",
        )
    return value


def check_label(value: str) -> str:
    """A CI runner label or tag."""
    if not _LABEL.fullmatch(value) or len(value) > 255:
        raise _refuse(
            f"{_shown(value)} is not a usable runner label",
            "Use letters, digits, '.', '_' and '-', e.g. 'gpu' or 'self-hosted'.",
        )
    return value


def check_url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise _refuse(
            f"{_shown(value)} is not a plain URL",
            "Percent-encode spaces, quotes, '$', braces, parentheses and backslashes in it.",
        )
    return value


BranchName = Annotated[str, _validator(check_branch)]
BranchPrefix = Annotated[str, _validator(check_branch_prefix)]
TagPrefix = Annotated[str, _validator(check_tag_prefix)]
RemoteName = Annotated[str, _validator(check_remote)]
NotesRef = Annotated[str, _validator(check_notes_ref)]
RepositoryPath = Annotated[str, _validator(check_repository_path)]
ImageReference = Annotated[str, _validator(check_image_reference)]
ImageName = Annotated[str, _validator(check_image_name)]
DockerSize = Annotated[str, _validator(check_docker_size)]
RunnerLabel = Annotated[str, _validator(check_label)]
PlainUrl = Annotated[str, _validator(check_url)]
