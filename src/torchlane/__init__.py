"""torchlane: keeps a PyTorch team's repository shippable."""

# No imports at module level, not even `typing`: hooks and the notebook filter import this
# package on every git operation and must start as fast as a bare interpreter.

__version__ = "0.1.0"

__all__ = ["__version__", "seed_everything", "seed_worker", "seeded_generator"]

# Exported lazily: `import torchlane` (hooks, quick commands) must not import the seeding module.
_LAZY = {
    "seed_everything": "torchlane.repro.seed",
    "seed_worker": "torchlane.repro.seed",
    "seeded_generator": "torchlane.repro.seed",
}

# Type checkers read the real signatures; at run time nothing is imported (`typing` included).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from torchlane.repro.seed import seed_everything, seed_worker, seeded_generator


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'torchlane' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
