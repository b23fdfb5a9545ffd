"""Adapters that implement lllm-domain's ports against the outside world.

Each area is a subpackage, imported on demand so that using one adapter does not pay for the
others' imports:

- ``lllm_adapters.openai``: Chat Completions and Responses callers (httpx2), model cards.
- ``lllm_adapters.tokenizer``: tiktoken tokenizers with an offline fallback.
- ``lllm_adapters.config``: ``lllm.toml`` resolution, discovery, system configs (TOML/YAML).
- ``lllm_adapters.proxies``: the HTTP proxy runtime.

The names below are re-exported lazily from those subpackages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lllm_adapters.config import (
        TomlConfigSource,
        check_prompt_paths,
        discover,
        find_config,
        load_project,
        load_system_config,
    )
    from lllm_adapters.openai import (
        AsyncOpenAICaller,
        ModelCatalog,
        OpenAICaller,
        OpenAISettings,
    )
    from lllm_adapters.proxies import HttpProxyRuntime, runtime_from_settings
    from lllm_adapters.tokenizer import TiktokenProvider

_EXPORTS = {
    "AsyncOpenAICaller": "lllm_adapters.openai",
    "HttpProxyRuntime": "lllm_adapters.proxies",
    "ModelCatalog": "lllm_adapters.openai",
    "OpenAICaller": "lllm_adapters.openai",
    "OpenAISettings": "lllm_adapters.openai",
    "TiktokenProvider": "lllm_adapters.tokenizer",
    "TomlConfigSource": "lllm_adapters.config",
    "check_prompt_paths": "lllm_adapters.config",
    "discover": "lllm_adapters.config",
    "find_config": "lllm_adapters.config",
    "load_project": "lllm_adapters.config",
    "load_system_config": "lllm_adapters.config",
    "runtime_from_settings": "lllm_adapters.proxies",
}

__all__ = [
    "AsyncOpenAICaller",
    "HttpProxyRuntime",
    "ModelCatalog",
    "OpenAICaller",
    "OpenAISettings",
    "TiktokenProvider",
    "TomlConfigSource",
    "check_prompt_paths",
    "discover",
    "find_config",
    "load_project",
    "load_system_config",
    "runtime_from_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lllm_adapters' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
