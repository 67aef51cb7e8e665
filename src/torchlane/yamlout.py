"""YAML that people and CI systems read: block style, scripts as literal blocks, no aliases.

PyYAML is imported inside the functions: it is only needed by the generators.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):
        # Shared dicts (one pod template for Master and Worker, one env for two jobs) would
        # become anchors and aliases, which not every CI system or reader expects.
        def ignore_aliases(self, data: object) -> bool:
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        # Scripts read as scripts: multi-line strings in literal block style.
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def dump(document: Any) -> str:
    import yaml

    text: str = yaml.dump(
        document, Dumper=_dumper(), sort_keys=False, width=1000, allow_unicode=True
    )
    return text


def dump_all(documents: Iterable[Any]) -> str:
    import yaml

    text: str = yaml.dump_all(
        documents, Dumper=_dumper(), sort_keys=False, width=1000, allow_unicode=True
    )
    return text
