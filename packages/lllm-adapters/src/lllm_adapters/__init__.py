"""Adapters that implement lllm-domain's ports against the outside world.

Each area is a subpackage, imported on demand so that using one adapter does not pay for the
others' imports; the install extra an area needs is in brackets (``pip install
"lllm-adapters[openai]"``; :mod:`lllm_adapters.extras`):

- ``lllm_adapters.openai``: Chat Completions and Responses callers (httpx2), model cards
  [openai].
- ``lllm_adapters.anthropic``: Messages API callers (httpx2), Claude model cards [anthropic].
- ``lllm_adapters.tokenizer``: tiktoken tokenizers with an offline fallback [tokens].
- ``lllm_adapters.config``: ``lllm.toml`` resolution, discovery, system configs (TOML; YAML
  [yaml]).
- ``lllm_adapters.proxies``: the HTTP proxy runtime [proxies].
- ``lllm_adapters.logs``: log stores (SQLite, local files, none) and redaction.
- ``lllm_adapters.observability``: structlog configuration and secret redaction.
- ``lllm_adapters.frontend``: the rich terminal frontend [terminal] and the Streamlit frontend
  [streamlit].
- ``lllm_adapters.jupyter``: the Jupyter sandbox (jupyter_client + nbformat) [jupyter].

The names below are re-exported lazily from those subpackages; using one whose extra is not
installed raises :class:`lllm_domain.errors.MissingExtraError` naming the extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lllm_adapters.anthropic import (
        AnthropicCaller,
        AnthropicSettings,
        AsyncAnthropicCaller,
    )
    from lllm_adapters.config import (
        TomlConfigSource,
        check_prompt_paths,
        discover,
        find_config,
        load_project,
        load_system_config,
    )
    from lllm_adapters.frontend import (
        StreamlitFrontend,
        TerminalFrontend,
    )
    from lllm_adapters.jupyter import (
        AsyncJupyterSandbox,
        AsyncJupyterSession,
        JupyterSandbox,
        JupyterSession,
        KernelLaunch,
    )
    from lllm_adapters.logs import (
        FileLogStore,
        NoLog,
        RedactingLogStore,
        SQLiteLogStore,
        open_log_store,
    )
    from lllm_adapters.observability import (
        Redactor,
        configure_logging,
        get_logger,
    )
    from lllm_adapters.openai import (
        AsyncOpenAICaller,
        ModelCatalog,
        OpenAICaller,
        OpenAISettings,
    )
    from lllm_adapters.proxies import (
        HttpProxyRuntime,
        runtime_from_settings,
    )
    from lllm_adapters.tokenizer import (
        TiktokenProvider,
    )

_EXPORTS = {
    "AnthropicCaller": "lllm_adapters.anthropic",
    "AnthropicSettings": "lllm_adapters.anthropic",
    "AsyncAnthropicCaller": "lllm_adapters.anthropic",
    "AsyncJupyterSandbox": "lllm_adapters.jupyter",
    "AsyncJupyterSession": "lllm_adapters.jupyter",
    "AsyncOpenAICaller": "lllm_adapters.openai",
    "FileLogStore": "lllm_adapters.logs",
    "HttpProxyRuntime": "lllm_adapters.proxies",
    "JupyterSandbox": "lllm_adapters.jupyter",
    "JupyterSession": "lllm_adapters.jupyter",
    "KernelLaunch": "lllm_adapters.jupyter",
    "ModelCatalog": "lllm_adapters.openai",
    "NoLog": "lllm_adapters.logs",
    "OpenAICaller": "lllm_adapters.openai",
    "OpenAISettings": "lllm_adapters.openai",
    "RedactingLogStore": "lllm_adapters.logs",
    "Redactor": "lllm_adapters.observability",
    "SQLiteLogStore": "lllm_adapters.logs",
    "StreamlitFrontend": "lllm_adapters.frontend.streamlit",
    "TerminalFrontend": "lllm_adapters.frontend",
    "TiktokenProvider": "lllm_adapters.tokenizer",
    "TomlConfigSource": "lllm_adapters.config",
    "check_prompt_paths": "lllm_adapters.config",
    "configure_logging": "lllm_adapters.observability",
    "discover": "lllm_adapters.config",
    "find_config": "lllm_adapters.config",
    "get_logger": "lllm_adapters.observability",
    "load_project": "lllm_adapters.config",
    "load_system_config": "lllm_adapters.config",
    "open_log_store": "lllm_adapters.logs",
    "runtime_from_settings": "lllm_adapters.proxies",
}

__all__ = [
    "AnthropicCaller",
    "AnthropicSettings",
    "AsyncAnthropicCaller",
    "AsyncJupyterSandbox",
    "AsyncJupyterSession",
    "AsyncOpenAICaller",
    "FileLogStore",
    "HttpProxyRuntime",
    "JupyterSandbox",
    "JupyterSession",
    "KernelLaunch",
    "ModelCatalog",
    "NoLog",
    "OpenAICaller",
    "OpenAISettings",
    "RedactingLogStore",
    "Redactor",
    "SQLiteLogStore",
    "StreamlitFrontend",
    "TerminalFrontend",
    "TiktokenProvider",
    "TomlConfigSource",
    "check_prompt_paths",
    "configure_logging",
    "discover",
    "find_config",
    "get_logger",
    "load_project",
    "load_system_config",
    "open_log_store",
    "runtime_from_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lllm_adapters' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
