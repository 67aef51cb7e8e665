"""Compose and conda environment files, read as PyYAML nodes so that findings carry line numbers.

PyYAML is imported only here, and only when the repository has such a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Located:
    line: int
    value: str


@dataclass
class ComposeService:
    name: str
    image: Located | None
    builds: bool  # has a `build:` section, so `image` names the result, not a base


@dataclass
class CondaEnv:
    dependencies: list[Located]  # conda specs, e.g. "pytorch=2.5.1"
    pip: list[Located]  # requirement lines from the `pip:` subsection
    channels: list[str]


def _compose_root(text: str) -> Any:
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from exc


def _mapping(node: Any) -> dict[str, Any]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _scalar(node: Any) -> Located | None:
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return Located(node.start_mark.line + 1, str(node.value))
    return None


def compose_services(text: str) -> list[ComposeService]:
    services = _mapping(_mapping(_compose_root(text)).get("services"))
    result = []
    for name, node in services.items():
        fields = _mapping(node)
        image = fields.get("image")
        result.append(
            ComposeService(name, _scalar(image) if image is not None else None, "build" in fields)
        )
    return result


def compose_images(text: str) -> list[tuple[int, str]] | str:
    """(line, image) of every service that pulls an image (not one it builds); or the YAML error."""
    try:
        services = compose_services(text)
    except ValueError as exc:
        return str(exc)
    return [(s.image.line, s.image.value) for s in services if s.image is not None and not s.builds]


def conda_env(text: str) -> CondaEnv:
    import yaml

    root = _mapping(_compose_root(text))
    env = CondaEnv([], [], [])
    channels = root.get("channels")
    if isinstance(channels, yaml.SequenceNode):
        env.channels = [c.value for c in channels.value if isinstance(c, yaml.ScalarNode)]
    deps = root.get("dependencies")
    if not isinstance(deps, yaml.SequenceNode):
        return env
    for item in deps.value:
        scalar = _scalar(item)
        if scalar is not None:
            env.dependencies.append(scalar)
            continue
        pip = _mapping(item).get("pip")
        if isinstance(pip, yaml.SequenceNode):
            env.pip += [s for s in map(_scalar, pip.value) if s is not None]
    return env


def conda_spec(spec: str) -> tuple[str, str | None]:
    """'pytorch=2.5.1=py3.11_cuda12.1*' -> ('pytorch', '2.5.1'); 'conda-forge::numpy>=1' -> ('numpy', None)."""
    text = spec.rsplit("::", maxsplit=1)[-1].strip()
    match = re.match(r"([A-Za-z0-9_.-]+)\s*(==?|>=|<=|>|<|~=|!=)?\s*([^=\s,|]*)", text)
    if match is None:
        return text, None
    name, operator, version = match.groups()
    exact = operator in ("=", "==") and version and "*" not in version and not version.endswith(".")
    return name.lower(), version if exact else None
