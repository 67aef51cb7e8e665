"""Strip a notebook's outputs and volatile metadata, byte-compatible with nbstripout + nbformat.

We work on the plain dicts that `json.loads` gives and never call nbformat: its validation costs
more than the stripping itself, and this code runs inside `git add` for every notebook. What
nbformat does to a notebook between reading and writing (rejoining and re-splitting multi-line
strings, dropping transient keys, giving cells of nbformat >= 4.5 an id) is reproduced below, so
that the bytes we write are the bytes `nbstripout` writes for the same options.

Imports: json, orjson when installed, and the options module only (the filter process must
start fast, and imports this module at its first notebook).
"""

from __future__ import annotations

import json

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


_fast_loads: Callable[[str], Any] | None
try:  # the `fast` extra: parses notebooks ~2.4x faster than json (the filter's largest cost)
    from orjson import loads as _orjson_loads

    _fast_loads = _orjson_loads
except ImportError:  # pragma: no cover - installed in the test environment
    _fast_loads = None

# orjson turns integers beyond 64 bits into floats where json keeps them exact: any run of 19 or
# more digits (in a number or, conservatively, in a string) sends the notebook to json. Found by
# mapping every digit to "1" and everything else to "0", then one substring search: a regular
# expression took longer than the parse it guards.
_DIGITS = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))
_LONG_RUN = b"1" * 19


def _has_long_digit_run(text: str) -> bool:
    return text.encode("utf-8", "surrogatepass").translate(_DIGITS).find(_LONG_RUN) >= 0


def loads(text: str) -> Any:
    """json.loads, through orjson where that gives the same value.

    orjson refuses what json accepts beyond the JSON standard (NaN, Infinity, numbers that
    overflow to infinity, lone surrogates) and those go to json; the one input orjson accepts
    differently, a big integer, is found by the digit check above. tests/notebooks/test_loads.py
    compares both on generated JSON."""
    if _fast_loads is not None and not _has_long_digit_run(text):
        try:
            return _fast_loads(text)
        except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
            pass
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
        source = cell.get("source", "")
        if not isinstance(source, str) and not _is_text_list(source):
            raise NotebookError(f"cell {index}: source is neither text nor a list of text")
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
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
    """Strip a parsed notebook (see parse_notebook) in place and return it."""
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
    # _pop_dotted's first two steps, unrolled: this loop runs for every key of every cell.
    paths = [(key, *key.partition(".")[::2]) for key in cell_keys]
    for index, cell in enumerate(cells):
        _strip_cell(cell, index, options, keep_output, ids_required)
        for key, head, rest in paths:
            if key in cell:
                del cell[key]
            elif rest and head in cell:
                inner = cell[head]
                if isinstance(inner, dict):
                    if rest in inner:
                        del inner[rest]
                    elif "." in rest:
                        _pop_dotted(inner, rest)
    _normalize_like_nbformat(notebook)
    return notebook


def _strip_cell(
    cell: dict[str, Any],
    index: int,
    options: StripOptions,
    keep_output: bool | None,
    ids_required: bool,
) -> None:
    if "outputs" in cell:
        outputs: list[dict[str, Any]] = cell["outputs"]
        keep_types = options.keep_output_types
        if not _keeps_output(cell, keep_output, options.strip_init_cells) or keep_types:
            limit = options.max_size
            outputs = [
                output
                for output in outputs
                if _size_within(output, limit) or any(_matches(output, kind) for kind in keep_types)
            ]
        if not options.keep_count:
            for output in outputs:
                if "execution_count" in output:
                    output["execution_count"] = None
        if options.drop_output_types:
            drop_types = options.drop_output_types
            outputs = [o for o in outputs if not any(_matches(o, kind) for kind in drop_types)]
        cell["outputs"] = outputs
    if not options.keep_count:
        if "execution_count" in cell:
            cell["execution_count"] = None
        if "prompt_number" in cell:
            cell["prompt_number"] = None
    if not options.keep_id and ("id" in cell or ids_required):
        cell["id"] = str(index)


def _keeps_output(cell: dict[str, Any], default: bool | None, strip_init_cells: bool) -> bool:
    """A cell keeps its outputs with `init_cell`, a `keep_output` tag or `keep_output` metadata."""
    if "metadata" not in cell:
        return bool(default)
    metadata = cell["metadata"]
    if "init_cell" in metadata:
        return bool(metadata["init_cell"]) and not strip_init_cells
    tagged = "keep_output" in _tags(cell)
    if "keep_output" in metadata:
        if tagged and not metadata["keep_output"]:
            raise NotebookError(
                "a cell's metadata says keep_output is false but its tags include keep_output"
            )
        return bool(metadata["keep_output"]) or tagged
    return tagged or bool(default)


def _tags(cell: dict[str, Any]) -> Any:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, (list, str)) else []


def _matches(output: dict[str, Any], kind: str) -> bool:
    """'stream' matches every stream output, 'stream:stderr' only the stderr stream."""
    output_type, _, name = kind.partition(":")
    return output.get("output_type") == output_type and (not name or output.get("name") == name)


def _size_within(output: dict[str, Any], limit: int) -> bool:
    """Whether an output has at most `limit` characters, counted as nbstripout's --max-size
    counts them (strings by length, other scalars by their str())."""
    kind = output.get("output_type")
    if isinstance(kind, str) and len(kind) > limit:  # decides at once with the default limit 0
        return False
    return _size_until(output, limit) <= limit


def _size_until(item: Any, limit: int) -> int:
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
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


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
    if _is_text_list(value):
        return "".join(value).splitlines(True)
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


def _normalize_like_nbformat(notebook: Notebook) -> None:
    """What nbformat's read + write round trip does to the notebook's JSON."""
    metadata = notebook["metadata"]
    for transient in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        metadata.pop(transient, None)
    for cell in notebook["cells"]:
        cell.get("metadata", {}).pop("trusted", None)
        if "source" in cell:
            cell["source"] = _split_text(cell["source"])
        attachments = cell.get("attachments")
        if isinstance(attachments, dict):
            for bundle in attachments.values():
                _normalize_bundle(bundle)
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            output_type = output.get("output_type")
            if output_type in _RICH_OUTPUTS:
                _normalize_bundle(output.get("data"))
            elif output_type == "stream" and "text" in output:
                output["text"] = _split_text(output["text"])
            elif output_type and _is_text_list(output.get("text")):
                output["text"] = "".join(output["text"])
