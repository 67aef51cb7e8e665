"""The model store: checkpoint files by content digest, in a directory or behind an fsspec URL.

Layout, the same everywhere: `<store>/sha256/<digest>` holds the checkpoint whose sha256 is
<digest>; `<store>/sha256/<digest>.exports/<file>` holds what `model export` made from it. A
file is only ever written under the digest of its content, so an upload is idempotent and a
reader verifies what it got against the name it asked for.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from torchlane.errors import TorchlaneError
from torchlane.models.binding import DIGEST


def _store_error(store: str, action: str, exc: BaseException) -> TorchlaneError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return TorchlaneError(
        f"The model store {store} could not {action}: {detail}",
        "Check [tool.torchlane.models] store (and store_options), that the store is reachable "
        "and that your credentials allow it.",
    )


def is_url(spec: str) -> bool:
    scheme, sep, _ = spec.partition("://")
    return bool(sep) and scheme != "file" and scheme.isidentifier()


class ModelStore:
    """A directory (a team's shared path) or any fsspec URL (s3://, gs://, az://, memory://)."""

    def __init__(self, spec: str, root: Path, options: dict[str, Any] | None = None):
        self.spec = spec
        self.local: Path | None = None
        if not is_url(spec):
            path = Path(spec.removeprefix("file://")).expanduser()
            self.local = path if path.is_absolute() else root / path
            return
        try:
            import fsspec
        except ImportError as exc:
            raise TorchlaneError(
                f"The model store {spec} is a URL, which needs the fsspec package.",
                "Install it (`pip install 'torchlane[models]'`), with the filesystem for the "
                "URL's scheme (s3fs, gcsfs, adlfs).",
            ) from exc
        try:
            self.fs, self.base = fsspec.core.url_to_fs(spec, **(options or {}))
        except (ImportError, ValueError) as exc:
            raise TorchlaneError(
                f"The model store {spec} cannot be opened: {exc}",
                "Install the fsspec filesystem for its scheme (s3fs for s3://, gcsfs for gs://, "
                "adlfs for az://) or correct [tool.torchlane.models] store.",
            ) from exc

    def _name(self, digest: str, suffix: str = "") -> str:
        if not DIGEST.match(digest):
            raise TorchlaneError(
                f"{digest!r} is not a sha256 digest, so it names nothing in the model store.",
                "The binding in git notes is damaged; look at it with `torchlane model show`.",
            )
        return f"sha256/{digest}{suffix}"

    def location(self, digest: str, suffix: str = "") -> str:
        name = self._name(digest, suffix)
        if self.local is not None:
            return str(self.local / name)
        return f"{self.base.rstrip('/')}/{name}"

    def has(self, digest: str, suffix: str = "") -> bool:
        where = self.location(digest, suffix)
        if self.local is not None:
            return Path(where).is_file()
        try:
            return bool(self.fs.exists(where))
        except Exception as exc:  # fsspec backends raise their own types (botocore, aiohttp)
            raise _store_error(self.spec, f"be read ({where})", exc) from exc

    def put(self, source: Path, digest: str, suffix: str = "") -> bool:
        """Upload `source` as `digest` (+ suffix); False when the store already holds it."""
        if self.has(digest, suffix):
            return False
        where = self.location(digest, suffix)
        if self.local is not None:
            target = Path(where)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
                os.close(handle)
                try:
                    shutil.copyfile(source, name)
                    os.replace(name, target)  # readers never see half a file
                finally:
                    Path(name).unlink(missing_ok=True)
            except OSError as exc:
                raise _store_error(self.spec, f"take {source.name}", exc) from exc
            return True
        try:
            # An object store makes an object visible only once its upload completed.
            self.fs.put_file(str(source), where)
        except Exception as exc:
            raise _store_error(self.spec, f"take {source.name}", exc) from exc
        return True

    def get(self, digest: str, target: Path, suffix: str = "") -> None:
        """Download `digest` (+ suffix) to `target`, as it is: the caller verifies it."""
        where = self.location(digest, suffix)
        if not self.has(digest, suffix):
            raise TorchlaneError(
                f"The model store {self.spec} has no file {self._name(digest, suffix)}.",
                "It was never uploaded: run `torchlane model push` in the clone that made the "
                "release, or check that [tool.torchlane.models] store names the team's store.",
            )
        try:
            if self.local is not None:
                shutil.copyfile(where, target)
            else:
                self.fs.get_file(where, str(target))
        except Exception as exc:
            raise _store_error(self.spec, f"give {self._name(digest, suffix)}", exc) from exc
