"""torchlane: keeps a PyTorch team's repository shippable."""

__version__ = "0.1.0"

__all__ = ["__version__"]
