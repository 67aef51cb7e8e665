"""Strip a notebook's outputs and volatile metadata, byte-compatible with nbstripout + nbformat.

We work on the plain dicts that `json.loads` gives and never call nbformat: its validation costs
more than the stripping itself, and this code runs inside `git add` for every notebook. What
nbformat does to a notebook between reading and writing (rejoining and re-splitting multi-line
strings, dropping transient keys, giving cells of nbformat >= 4.5 an id) is reproduced below, so
that the bytes we write are the bytes `nbstripout` writes for the same options.

Imports: the options and serialize modules and json's C scanner (`_json`) only: the filter
process starts inside git commands and imports this module at its first notebook; json (and re,
which json imports) load only when a text is not valid JSON.
"""

from __future__ import annotations

from torchlane.notebooks.options import StripOptions
from torchlane.notebooks.serialize import serialize

# typing is not imported at run time (it costs more than the rest of the filter's start-up);
# mypy reads a module-level TYPE_CHECKING as true whatever its value.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeAlias

    Notebook: TypeAlias = dict[str, Any]

_RICH_OUTPUTS = ("execute_result", "display_data")
# Besides text/*, the mime types nbformat writes as a list of lines.
_SPLIT_MIMES = ("application/javascript", "image/svg+xml")
_NO_OUTPUTS: list[Any] = []  # what a cell without outputs is checked as (never changed)


class _ScanContext:
    """The settings json.loads hands json's C scanner (a default json.JSONDecoder's)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    array_hook = None  # read from Python 3.15 on
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


_scan: Callable[[str, int], tuple[Any, int]] | None
try:  # json's C scanner, which json.loads runs, without json's module (it imports re)
    from _json import make_scanner

    # The C scanner reads its settings from any object with these attributes.
    _scan = make_scanner(_ScanContext())  # type: ignore[arg-type]
except (ImportError, AttributeError, TypeError):  # pragma: no cover - another Python's _json
    _scan = None

_WHITESPACE = " \t\n\r"  # JSON's whitespace: what json.loads skips around the value


def loads(text: str) -> Any:
    """json.loads(text), through the same C scanner but without importing json.

    What json.loads adds around the scanner is reproduced: refuse a byte-order mark, skip JSON
    whitespace before and after the value, refuse anything else after it. Every text the scanner
    does not accept as a whole goes to json.loads itself, so errors (and any case missed here)
    get json's own answer; tests/notebooks/test_loads.py compares the two on generated JSON."""
    if _scan is not None and not text.startswith("\ufeff"):
        try:
            value, end = _scan(text, len(text) - len(text.lstrip(_WHITESPACE)))
        except Exception:  # json.loads gives (and words) every refusal
            # StopIteration where no value starts; and without json.decoder imported, the
            # scanner cannot make its JSONDecodeError and raises SystemError instead.
            pass
        else:
            if end == len(text) or not text[end:].strip(_WHITESPACE):
                return value
    import json

    return json.loads(text)


class NotebookError(ValueError):
    """The content is not a notebook we can strip; it must be left exactly as it is."""


def parse_notebook(text: str) -> Notebook:
    """json.loads plus the structural checks stripping relies on (nbformat 4, cells are dicts)."""
    try:
        notebook = loads(text)
    except ValueError as exc:
        raise NotebookError(f"not valid JSON ({exc})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError("not a Jupyter notebook (no list of cells at the top level)")
    if notebook.get("nbformat") != 4:
        raise NotebookError(
            f"nbformat {notebook.get('nbformat')!r} is not supported, only nbformat 4"
        )
    if not isinstance(notebook.get("nbformat_minor", 0), int):
        raise NotebookError("nbformat_minor is not a number")
    if not isinstance(notebook.get("metadata", {}), dict):
        raise NotebookError("the notebook's metadata is not an object")
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("metadata", {}), dict):
            raise NotebookError(f"cell {index} is not an object with object metadata")
        if "source" in cell:
            source = cell["source"]
            if not isinstance(source, str) and not _is_text_list(source):
                raise NotebookError(f"cell {index}: source is neither text nor a list of text")
        outputs = cell.get("outputs", _NO_OUTPUTS)
        if not isinstance(outputs, list) or not _all_dicts(outputs):
            raise NotebookError(f"cell {index}: outputs is not a list of objects")
    return notebook


def strip_text(text: str, options: StripOptions) -> str:
    """The stripped notebook text; raises NotebookError (and changes nothing) on bad input."""
    try:
        return serialize(strip_notebook(parse_notebook(text), options))
    except RecursionError:  # parsing or writing JSON nested deeper than Python's stack allows
        raise NotebookError("is nested too deeply to be a notebook") from None


def strip_bytes(data: bytes, options: StripOptions) -> bytes:
    """strip_text for UTF-8 bytes, as git and files hand them over."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return strip_text(text, options).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotebookError(f"holds text that cannot be written as UTF-8 ({exc.reason})") from None


def strip_notebook(notebook: Notebook, options: StripOptions) -> Notebook:
    """Strip a parsed notebook (see parse_notebook) in place and return it.

    One pass over the cells strips each one, removes its extra keys and then does to it what
    nbformat's read + write round trip does (each of those steps reads only its own cell)."""
    metadata: dict[str, Any] = notebook.setdefault("metadata", {})
    keep_output = options.keep_output
    if keep_output is None and "keep_output" in metadata:
        keep_output = bool(metadata["keep_output"])
    cell_keys: list[str] = []
    for key in options.removed_keys():
        namespace, subkey = key.split(".", 1)
        if namespace == "metadata":
            _pop_dotted(metadata, subkey)
        else:
            cell_keys.append(subkey)
    for transient in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        metadata.pop(transient, None)

    cells: list[dict[str, Any]] = notebook["cells"]
    if options.drop_empty_cells:
        cells = [cell for cell in cells if _has_text(cell.get("source", []))]
    if options.drop_tagged_cells:
        dropped = options.drop_tagged_cells
        cells = [cell for cell in cells if not any(tag in _tags(cell) for tag in dropped)]
    notebook["cells"] = cells

    # nbformat gives every cell of a 4.5+ notebook an id when it reads one; nbstripout then
    # renumbers them. Ids present in older notebooks are renumbered too.
    ids_required = notebook.get("nbformat_minor", 0) >= 5
    renumber = not options.keep_id
    keep_count = options.keep_count
    # The cell keys to remove, sorted for the loop below (it runs for every cell): a cell that has
    # a key spelled like one of them (dots included) takes each path in turn, as _pop_dotted
    # does; any other cell only loses keys inside its objects, matched against all the names
    # at once (a set intersection, in C). Removals at different places commute.
    paths = [(key, *key.partition(".")[::2]) for key in cell_keys]
    own_keys = frozenset(cell_keys)
    inner_keys: dict[str, tuple[set[str], list[str]]] = {}
    for _key, head, rest in paths:
        if rest:
            plain, dotted = inner_keys.setdefault(head, (set(), []))
            if "." in rest:
                dotted.append(rest)
            else:
                plain.add(rest)
    for index, cell in enumerate(cells):
        if "outputs" in cell:
            cell["outputs"] = _strip_outputs(cell, options, keep_output)
        if not keep_count:
            if "execution_count" in cell:
                cell["execution_count"] = None
            if "prompt_number" in cell:
                cell["prompt_number"] = None
        if renumber and (ids_required or "id" in cell):
            cell["id"] = str(index)
        if not own_keys.isdisjoint(cell):
            for key, _head, _rest in paths:
                _pop_dotted(cell, key)
        else:
            for head, (plain, dotted) in inner_keys.items():
                inner = cell.get(head)
                if isinstance(inner, dict) and inner:
                    for name in plain.intersection(inner):
                        del inner[name]
                    for rest in dotted:
                        _pop_dotted(inner, rest)
        _normalize_cell(cell)
    return notebook


def _strip_outputs(
    cell: dict[str, Any], options: StripOptions, keep_output: bool | None
) -> list[dict[str, Any]]:
    """The outputs a cell keeps, with their execution counts cleared unless asked not to."""
    outputs: list[dict[str, Any]] = cell["outputs"]
    keep_types = options.keep_output_types
    # _keeps_output first: it raises on contradicting metadata whatever the options say.
    if (not _keeps_output(cell, keep_output, options.strip_init_cells) or keep_types) and outputs:
        limit = options.max_size
        kept = []
        for output in outputs:
            # Within the size limit? With the default limit 0 the output type decides at once.
            kind = output.get("output_type")
            if (
                not (isinstance(kind, str) and len(kind) > limit)
                and _size_until(output, limit) <= limit
            ) or (keep_types and any(_matches(output, wanted) for wanted in keep_types)):
                kept.append(output)
        outputs = kept
    if not options.keep_count:
        for output in outputs:
            if "execution_count" in output:
                output["execution_count"] = None
    if options.drop_output_types:
        drop_types = options.drop_output_types
        outputs = [o for o in outputs if not any(_matches(o, kind) for kind in drop_types)]
    return outputs


def _keeps_output(cell: dict[str, Any], default: bool | None, strip_init_cells: bool) -> bool:
    """A cell keeps its outputs with `init_cell`, a `keep_output` tag or `keep_output` metadata."""
    if "metadata" not in cell:
        return bool(default)
    metadata = cell["metadata"]
    if "init_cell" in metadata:
        return bool(metadata["init_cell"]) and not strip_init_cells
    tags = metadata.get("tags")  # what _tags(cell) gives, without the call: once per cell
    tagged = isinstance(tags, (list, str)) and "keep_output" in tags
    if "keep_output" in metadata:
        if tagged and not metadata["keep_output"]:
            raise NotebookError(
                "a cell's metadata says keep_output is false but its tags include keep_output"
            )
        return bool(metadata["keep_output"]) or tagged
    return tagged or bool(default)


def _tags(cell: dict[str, Any]) -> Any:
    tags = cell.get("metadata", {}).get("tags", _NO_OUTPUTS)
    return tags if isinstance(tags, (list, str)) else _NO_OUTPUTS


def _matches(output: dict[str, Any], kind: str) -> bool:
    """'stream' matches every stream output, 'stream:stderr' only the stderr stream."""
    output_type, _, name = kind.partition(":")
    return output.get("output_type") == output_type and (not name or output.get("name") == name)


def _size_until(item: Any, limit: int) -> int:
    """An output's size as nbstripout's --max-size counts it (strings by length, other scalars
    by their str()), counted only until it is over `limit`."""
    if isinstance(item, str):
        return len(item)
    if isinstance(item, (list, dict)):
        total = 0
        for element in item.values() if isinstance(item, dict) else item:
            total += _size_until(element, limit)
            if total > limit:
                break
        return total
    return len(str(item))


def _has_text(source: Any) -> bool:
    if isinstance(source, str):
        return bool(source.strip())
    return any(isinstance(line, str) and line.strip() for line in source)


def _is_text_list(value: Any) -> bool:
    """A list of strings; "".join checks every item in C and refuses exactly what is not one."""
    if not isinstance(value, list):
        return False
    try:
        "".join(value)
    except TypeError:
        return False
    return True


def _all_dicts(items: list[Any]) -> bool:
    for item in items:  # noqa: SIM110  (a loop: all() over a generator costs twice as much)
        if not isinstance(item, dict):
            return False
    return True


def _pop_dotted(mapping: Any, key: str) -> None:
    """Remove `key` from a dict; 'a.b' means mapping['a']['b'] unless 'a.b' itself is a key."""
    while isinstance(mapping, dict):
        if key in mapping:
            del mapping[key]
            return
        head, dot, key = key.partition(".")
        if not dot or head not in mapping:
            return
        mapping = mapping[head]


def _split_text(value: Any) -> Any:
    """nbformat stores multi-line text as a list of lines, split the way str.splitlines splits."""
    if isinstance(value, str):
        return value.splitlines(True)
    if isinstance(value, list):
        try:
            return "".join(value).splitlines(True)
        except TypeError:  # not a list of text: left as it is
            return value
    return value


def _normalize_bundle(bundle: Any) -> None:
    if not isinstance(bundle, dict):
        return
    for mime, stored in bundle.items():
        value = stored
        is_json = mime == "application/json" or (
            mime.startswith("application/") and mime.endswith("+json")
        )
        if not is_json and _is_text_list(value):
            value = bundle[mime] = "".join(value)
        if isinstance(value, str) and (mime.startswith("text/") or mime in _SPLIT_MIMES):
            bundle[mime] = value.splitlines(True)


def _normalize_cell(cell: dict[str, Any]) -> None:
    """What nbformat's read + write round trip does to one cell."""
    if "metadata" in cell:
        cell["metadata"].pop("trusted", None)
    if "source" in cell:
        cell["source"] = _split_text(cell["source"])
    if "attachments" in cell:
        attachments = cell["attachments"]
        if isinstance(attachments, dict):
            for bundle in attachments.values():
                _normalize_bundle(bundle)
    if cell.get("cell_type") != "code" or "outputs" not in cell:
        return
    for output in cell["outputs"]:
        output_type = output.get("output_type")
        if output_type in _RICH_OUTPUTS:
            _normalize_bundle(output.get("data"))
        elif output_type == "stream" and "text" in output:
            output["text"] = _split_text(output["text"])
        elif output_type and _is_text_list(output.get("text")):
            output["text"] = "".join(output["text"])
