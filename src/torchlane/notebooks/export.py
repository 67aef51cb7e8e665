"""Turn a matured notebook into a Python module.

Two styles:
- "functions": each code cell becomes a function (named from its leading comment, else
  cell_N) and `main()` calls them in notebook order. Each function declares `global` for the
  names its cell binds, so cells keep sharing state exactly as they did in the kernel.
- "percent": jupytext's py:percent format (`# %%` cells, markdown as `# %% [markdown]`
  comments), which jupytext and most editors open as a notebook again.

IPython-only lines (magics such as `%matplotlib`, shell escapes such as `!pip`, `x?` help) are
commented out, with a note at the top of the module. The result is checked with `compile()`
before it is written: a cell that is not Python is an error naming the cell, not a broken file.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from torchlane.errors import TorchlaneError
from torchlane.notebooks.strip import NotebookError, parse_notebook

Style = Literal["functions", "percent"]
STYLES: tuple[Style, ...] = ("functions", "percent")

_MAGIC = re.compile(r"^\s*(%|!|\?)|\?\??\s*$")
_MAGIC_NOTE = (
    "# Note: IPython magics and shell commands (lines starting with % or !) are commented out;\n"
    "# they are not Python. Run their equivalents outside this module if they are needed.\n"
)


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    notebook: Path
    module: Path
    style: Style
    code_cells: int
    functions: list[str]
    commented_magics: int


@dataclass(frozen=True)
class _Cell:
    index: int  # position in the notebook, counting every cell from 1
    kind: str
    source: str


def export_notebook(notebook: Path, module: Path, style: Style) -> ExportResult:
    """Write `module` from `notebook`; nothing is written unless the result compiles."""
    try:
        nb = parse_notebook(notebook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, NotebookError) as exc:
        raise TorchlaneError(
            f"{notebook} cannot be exported: {exc}.", "Export a valid nbformat 4 notebook."
        ) from None
    cells = [
        _Cell(i, str(c.get("cell_type", "")), _source(c)) for i, c in enumerate(nb["cells"], 1)
    ]
    commented = 0
    code_cells: list[_Cell] = []
    for cell in cells:
        if cell.kind == "code":
            text, count = _comment_magics(cell.source)
            commented += count
            code_cells.append(_Cell(cell.index, "code", text))
            _check_cell(notebook, cell.index, text)
    header = f'"""Exported from {notebook.name} by `torchlane nb export --style {style}`."""\n'
    note = _MAGIC_NOTE if commented else ""
    markdown = {c.index: c.source for c in cells if c.kind == "markdown"}
    if style == "percent":
        text, names = _percent(cells, code_cells, header + note), list[str]()
    else:
        text, names = _functions(code_cells, markdown, header + note)
    try:
        compile(text, str(module), "exec")
    except SyntaxError as exc:
        raise TorchlaneError(
            f"The module exported from {notebook} would not compile: {exc.msg} (line {exc.lineno}).",
            "Use --style percent, which keeps cells at the top level, or fix the notebook.",
        ) from None
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(text, encoding="utf-8")
    return ExportResult(
        notebook=notebook,
        module=module,
        style=style,
        code_cells=len(code_cells),
        functions=names,
        commented_magics=commented,
    )


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _comment_magics(source: str) -> tuple[str, int]:
    if _is_python(source):  # only a cell that is not Python can hold magics
        return source, 0
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):  # a cell magic: the whole cell is not Python
        # Not "# %%bash": editors and jupytext would read that as a cell marker.
        body = [f"# {line}" if line else "#" for line in lines[1:]]
        return "\n".join([f"# cell magic {lines[0]}", *body]), len(lines)
    count = 0
    out: list[str] = []
    for line in lines:
        if _MAGIC.search(line) and not _is_python(line):
            indent = line[: len(line) - len(line.lstrip())]
            # Inside a block, `pass` keeps the block valid if the magic was all it held.
            keep_block = "pass  " if indent else ""
            out.append(f"{indent}{keep_block}# {line.lstrip()}")
            count += 1
        else:
            out.append(line)
    return "\n".join(out), count


def _is_python(text: str) -> bool:
    try:
        ast.parse(text.strip())
    except SyntaxError:
        return False
    return True


def _check_cell(notebook: Path, index: int, text: str) -> None:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        raise TorchlaneError(
            f"Cell {index} of {notebook} is not valid Python: {exc.msg} (line {exc.lineno} of the cell).",
            "Fix or delete that cell in the notebook, then export again.",
        ) from None


def _comment_block(text: str) -> str:
    return "".join(f"# {line}\n" if line.strip() else "#\n" for line in text.splitlines())


def _percent(cells: list[_Cell], code_cells: list[_Cell], header: str) -> str:
    code = {cell.index: cell.source for cell in code_cells}
    parts = [header]
    for cell in cells:
        if cell.kind == "code":
            body = code[cell.index].rstrip()
            parts.append("# %%\n" + (body + "\n" if body else ""))
        elif cell.kind == "markdown":
            parts.append("# %% [markdown]\n" + _comment_block(cell.source))
        else:  # raw cells: kept as comments, as jupytext does
            parts.append("# %% [raw]\n" + _comment_block(cell.source))
    return "\n".join(parts)


def _functions(
    code_cells: list[_Cell], markdown: dict[int, str], header: str
) -> tuple[str, list[str]]:
    parts = [header]
    names: list[str] = []
    taken = {"main"}
    pending_markdown = sorted(markdown)
    for cell in code_cells:
        if not cell.source.strip():
            continue
        name = _unique(_function_name(cell), taken)
        taken.add(name)
        names.append(name)
        notes = [markdown[i] for i in pending_markdown if i < cell.index]
        pending_markdown = [i for i in pending_markdown if i > cell.index]
        comments = "".join(_comment_block(note) for note in notes)
        bound = sorted(_bound_names(cell.source))
        body = "".join(
            f"    {line}\n" if line.strip() else "\n" for line in cell.source.splitlines()
        )
        declare = f"    global {', '.join(bound)}\n" if bound else ""
        parts.append(
            f"\n{comments}def {name}() -> None:\n"
            f'    """Cell {cell.index} of the notebook."""\n{declare}{body}'
        )
    calls = "".join(f"    {name}()\n" for name in names) or "    pass\n"
    parts.append(f"\ndef main() -> None:\n{calls}\n\nif __name__ == '__main__':\n    main()\n")
    return "\n".join(parts), names


def _function_name(cell: _Cell) -> str:
    first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
    if first.startswith("#") and not first.startswith("# %"):
        words = re.sub(r"[^0-9a-z]+", "_", first.lstrip("# ").lower())
        words = re.sub(r"^[0-9_]+", "", words)[:40].rstrip("_")  # "# 1. Load" -> "load"
        if words and not keyword.iskeyword(words):
            return words
    return f"cell_{cell.index}"


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate


def _bound_names(source: str) -> set[str]:
    """Names a cell binds at its top level: in the notebook they were globals of the kernel.
    Bindings inside functions, classes, lambdas and comprehensions are their own scopes."""
    names: set[str] = set()
    pending: list[ast.AST] = list(ast.parse(source).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(
                alias.asname or alias.name.split(".")[0]
                for alias in node.names
                if alias.name != "*"
            )
        pending.extend(ast.iter_child_nodes(node))
    return names
