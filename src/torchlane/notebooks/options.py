"""What stripping keeps and drops, and how those choices travel on a command line.

The filter process parses its own argv with `options_from_argv` instead of argparse or click:
it runs inside every `git add` and imports nothing but json/sys/os. Plain classes (no
dataclasses, no typing) for the same reason.
"""

from __future__ import annotations

# nbstripout's defaults: volatile metadata that changes on every run without changing meaning.
DEFAULT_EXTRA_KEYS = (
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
)

_FLAGS = ("keep_count", "keep_output", "keep_id", "drop_empty_cells", "strip_init_cells")
_LISTS = (
    "extra_keys",
    "keep_metadata_keys",
    "drop_tagged_cells",
    "drop_output_types",
    "keep_output_types",
)


# nbstripout spells these two in the singular on its command line; so do we.
_SPELLING = {"drop_output_types": "--drop-output-type", "keep_output_types": "--keep-output-type"}
_NAMES = {_SPELLING.get(name, "--" + name.replace("_", "-")): name for name in (*_FLAGS, *_LISTS)}


class OptionError(ValueError):
    """A stripping option that cannot be understood."""


def parse_size(text: str) -> int:
    """'0', '500', '10K', '2M', '1G' (decimal units, as nbstripout's --max-size) -> bytes."""
    cleaned = text.strip().upper()
    factor = {"K": 10**3, "M": 10**6, "G": 10**9}.get(cleaned[-1:], 1)
    digits = cleaned[:-1] if factor != 1 else cleaned
    if not digits.isdigit():
        raise OptionError(f"invalid size {text!r}: use a number with an optional K, M or G")
    return int(digits) * factor


class StripOptions:
    """Stripping choices. The defaults match nbstripout's defaults.

    keep_output: None means "not decided here": the notebook's own `metadata.keep_output` decides,
    then each cell's `keep_output` tag or metadata.
    extra_keys are added to DEFAULT_EXTRA_KEYS; keep_metadata_keys are removed from both.
    max_size: outputs up to this many characters are kept (0: none).
    """

    __slots__ = (*_FLAGS, *_LISTS, "max_size")

    def __init__(
        self,
        *,
        keep_count: bool = False,
        keep_output: bool | None = None,
        keep_id: bool = False,
        drop_empty_cells: bool = False,
        strip_init_cells: bool = False,
        extra_keys: tuple[str, ...] = (),
        keep_metadata_keys: tuple[str, ...] = (),
        drop_tagged_cells: tuple[str, ...] = (),
        drop_output_types: tuple[str, ...] = (),
        keep_output_types: tuple[str, ...] = (),
        max_size: int = 0,
    ) -> None:
        self.keep_count = keep_count
        self.keep_output = keep_output
        self.keep_id = keep_id
        self.drop_empty_cells = drop_empty_cells
        self.strip_init_cells = strip_init_cells
        self.extra_keys = tuple(extra_keys)
        self.keep_metadata_keys = tuple(keep_metadata_keys)
        self.drop_tagged_cells = tuple(drop_tagged_cells)
        self.drop_output_types = tuple(drop_output_types)
        self.keep_output_types = tuple(keep_output_types)
        self.max_size = max_size
        for key in self.extra_keys:
            if key.split(".", 1)[0] not in ("cell", "metadata") or "." not in key:
                raise OptionError(
                    f"invalid extra key {key!r}: it must start with 'metadata.' or 'cell.'"
                )

    def removed_keys(self) -> list[str]:
        """Every dotted key to remove, defaults first, minus the ones asked to be kept."""
        keys = [*DEFAULT_EXTRA_KEYS, *self.extra_keys]
        return [key for key in keys if key not in self.keep_metadata_keys]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StripOptions):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self.__slots__))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"StripOptions({fields})"

    def to_argv(self) -> list[str]:
        """The command-line spelling understood by `options_from_argv` (and by `nb strip`)."""
        argv: list[str] = []
        for name in _FLAGS:
            if getattr(self, name):
                argv.append(_flag(name))
        for name in _LISTS:
            values: tuple[str, ...] = getattr(self, name)
            if values:
                argv += [_flag(name), " ".join(values)]
        if self.max_size:
            argv += ["--max-size", str(self.max_size)]
        return argv


def _flag(name: str) -> str:
    return _SPELLING.get(name, "--" + name.replace("_", "-"))


def options_from_argv(argv: list[str]) -> tuple[StripOptions, list[str]]:
    """Parse `StripOptions.to_argv()` output; returns the options and the remaining arguments."""
    flags: dict[str, bool] = {}
    lists: dict[str, tuple[str, ...]] = {}
    max_size = 0
    rest: list[str] = []
    position = 0
    while position < len(argv):
        argument = argv[position]
        name = "max_size" if argument == "--max-size" else _NAMES.get(argument, "")
        if name in _FLAGS:
            flags[name] = True
        elif name in _LISTS or name == "max_size":
            if position + 1 >= len(argv):
                raise OptionError(f"{argument} needs a value")
            position += 1
            if name == "max_size":
                max_size = parse_size(argv[position])
            else:
                lists[name] = tuple(argv[position].split())
        else:
            rest.append(argument)
        position += 1
    options = StripOptions(
        keep_count=flags.get("keep_count", False),
        keep_output=True if flags.get("keep_output") else None,
        keep_id=flags.get("keep_id", False),
        drop_empty_cells=flags.get("drop_empty_cells", False),
        strip_init_cells=flags.get("strip_init_cells", False),
        extra_keys=lists.get("extra_keys", ()),
        keep_metadata_keys=lists.get("keep_metadata_keys", ()),
        drop_tagged_cells=lists.get("drop_tagged_cells", ()),
        drop_output_types=lists.get("drop_output_types", ()),
        keep_output_types=lists.get("keep_output_types", ()),
        max_size=max_size,
    )
    return options, rest


def options_from_settings(section: dict[str, object]) -> StripOptions:
    """[tool.torchlane.notebooks] as plain values (the settings snapshot, or the validated
    section's model_dump) -> StripOptions; the one translation both paths use."""

    def names(key: str) -> tuple[str, ...]:
        value = section.get(key, ())
        return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()

    return StripOptions(
        keep_count=bool(section.get("keep_count")),
        keep_output=True if section.get("keep_output") else None,
        keep_id=bool(section.get("keep_id")),
        drop_empty_cells=bool(section.get("drop_empty_cells")),
        strip_init_cells=bool(section.get("strip_init_cells")),
        extra_keys=names("extra_keys"),
        keep_metadata_keys=names("keep_metadata_keys"),
        drop_tagged_cells=names("drop_tagged_cells"),
        drop_output_types=names("drop_output_types"),
        keep_output_types=names("keep_output_types"),
        max_size=parse_size(str(section.get("max_size", "0"))),
    )
