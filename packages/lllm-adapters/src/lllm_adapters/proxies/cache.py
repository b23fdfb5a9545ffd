"""An on-disk cache of proxy responses, keyed by proxy, endpoint and request parameters."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

_MISSING = object()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lllm/proxies`` (``~/.cache/lllm/proxies`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lllm" / "proxies"


class ResponseCache:
    """Decoded JSON responses stored one file per request under ``root``.

    Keys never include the API key, so cached files hold no secrets and the same cache serves
    whoever holds a key. Writes are atomic (temp file + rename), so concurrent runtimes never
    read half a file.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def key(self, path: str, request: Mapping[str, Any]) -> str:
        """The cache key of a call to endpoint ``path`` with request data ``request``."""
        raw = msgspec.json.encode({"path": path, "request": request}, order="sorted")
        return hashlib.sha256(raw).hexdigest()

    def _file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any:
        """The cached value, or :data:`MISSING`."""
        file = self._file(key)
        try:
            return msgspec.json.decode(file.read_bytes())
        except FileNotFoundError:
            return MISSING
        except msgspec.DecodeError:
            # A corrupt entry is a miss, not a crash: the next call rewrites it.
            return MISSING

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-encodable) under ``key``."""
        file = self._file(key)
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(msgspec.json.encode(value))
            os.replace(tmp, file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


MISSING: Any = _MISSING
"""Returned by :meth:`ResponseCache.get` on a miss."""
