"""A digest of a checkpoint's weights that does not depend on how the file was written."""

from __future__ import annotations

import hashlib
from pathlib import Path


def state_dict_digest(path: Path, key: str | None = None) -> str:
    """sha256 over the state_dict's entries in name order: name, dtype, shape and raw bytes.

    Two files holding the same tensors (saved under another name, with another pickle protocol
    or zip layout) get the same digest; any changed value, shape or dtype changes it. Imports
    torch; the file is read with `weights_only=True`.
    """
    import torch

    from torchlane.evaluate.checkpoint import load_state_dict

    state = load_state_dict(path, key)
    digest = hashlib.sha256()
    for name in sorted(state):
        value = state[name]
        digest.update(name.encode("utf-8") + b"\0")
        if isinstance(value, torch.Tensor):
            tensor = value.detach().to("cpu").contiguous()
            digest.update(f"{tensor.dtype}|{tuple(tensor.shape)}\0".encode("ascii"))
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            digest.update(repr(value).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
