"""Adapters that implement lllm-domain's ports against the outside world.

Each area is a subpackage, imported on demand so that using one adapter does not pay for the
others: ``lllm_adapters.config`` (lllm.toml, discovery, system configs), ``lllm_adapters.proxies``
(HTTP proxy runtime). The names below are re-exported lazily from those subpackages.
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
    from lllm_adapters.proxies import HttpProxyRuntime, runtime_from_settings

_EXPORTS = {
    "TomlConfigSource": "lllm_adapters.config",
    "check_prompt_paths": "lllm_adapters.config",
    "discover": "lllm_adapters.config",
    "find_config": "lllm_adapters.config",
    "load_project": "lllm_adapters.config",
    "load_system_config": "lllm_adapters.config",
    "HttpProxyRuntime": "lllm_adapters.proxies",
    "runtime_from_settings": "lllm_adapters.proxies",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lllm_adapters' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
