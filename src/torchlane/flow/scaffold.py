"""What `torchlane init` adds to an existing repository beyond the branch model: a commented
`[tool.torchlane.eval]` section (naming the train/eval scripts it found) and `.gitignore` entries
for what torchlane writes into the work tree. Each step is idempotent and only ever appends."""

from __future__ import annotations

from pathlib import Path

EVAL_MARKER = "torchlane eval: uncomment and fill in"
GITIGNORE = ".gitignore"
# What torchlane itself writes into a work tree and nobody should commit.
IGNORED = (".venv/", "ci-artifacts/")
_TRAIN_NAMES = ("train.py", "training.py", "main.py")
_EVAL_NAMES = ("evaluate.py", "eval.py", "evaluation.py", "validate.py", "test_model.py")
_SEARCH_DIRS = (".", "src", "scripts", "tools")


def find_scripts(root: Path) -> tuple[list[str], list[str]]:
    """(train scripts, eval scripts) found at the usual places, as paths relative to `root`."""

    def found(names: tuple[str, ...]) -> list[str]:
        hits = []
        for folder in _SEARCH_DIRS:
            for name in names:
                path = root / folder / name
                if path.is_file():
                    hits.append(path.relative_to(root).as_posix())
        return hits

    return found(_TRAIN_NAMES), found(_EVAL_NAMES)


def _module(script: str) -> str:
    return script.removesuffix(".py").removeprefix("src/").replace("/", ".")


def eval_section_text(root: Path, *, in_pyproject: bool) -> str:
    """The commented section: every line a TOML comment, so the file loads unchanged."""
    train, evaluate = find_scripts(root)
    header = "[tool.torchlane.eval]" if in_pyproject else "[eval]"
    module = _module((evaluate or train or ["model.py"])[0])
    lines = [
        f"# --- {EVAL_MARKER} (the merge gate's model-quality check) ---",
        f"# Found: train scripts {train or 'none'}, eval scripts {evaluate or 'none'}.",
        f"# {header}",
        "# Either your own evaluation function, called with an EvalContext:",
        f'# entry = "{module}:evaluate"',
        "# ... or the ready harness: a model factory, a validation loader, metrics:",
        f'# model = "{module}:build_model"',
        f'# data = "{module}:validation_loader"',
        f'# metrics = {{ accuracy = "{module}:accuracy" }}',
        "# Where the weights come from (newest file matching the glob), and how they are made:",
        '# checkpoint = "checkpoints/*.pt"',
    ]
    if train:
        lines.append(f'# checkpoint_command = "python {train[0]}"')
    lines += [
        "# What the result depends on besides the checkpoint (the cache key):",
        '# data_paths = ["data/val"]',
        f'# code_paths = ["{(evaluate or train or ["model.py"])[0]}"]',
        '# device = "auto"',
    ]
    return "\n".join(lines) + "\n"


def _append(path: Path, text: str) -> None:
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    separator = "" if not existing or existing.endswith("\n") else "\n"
    blank = "\n" if existing else ""
    path.write_text(existing + separator + blank + text, encoding="utf-8")


def scaffold_eval(root: Path, config_path: Path, has_eval: bool) -> bool:
    """Appends the commented eval section unless one (or our comment) is already there."""
    if has_eval:
        return False
    text = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    if EVAL_MARKER in text:
        return False
    _append(config_path, eval_section_text(root, in_pyproject=config_path.name == "pyproject.toml"))
    return True


def scaffold_gitignore(root: Path) -> list[str]:
    """Appends the entries `.gitignore` lacks; returns them."""
    path = root / GITIGNORE
    present = set()
    if path.is_file():
        present = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    missing = [
        entry for entry in IGNORED if entry not in present and entry.rstrip("/") not in present
    ]
    if missing:
        _append(path, "# written by torchlane\n" + "".join(f"{entry}\n" for entry in missing))
    return missing
