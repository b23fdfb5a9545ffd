"""The init cell: the first cell of every session, re-run on every kernel (re)start.

It puts the project root on ``sys.path`` (so generated code can import the project) and, when the
session activates proxies, builds the proxy runtime from the session's settings and binds its
``call`` to :data:`CALL_FUNCTION_NAME` so generated code can call external APIs.
"""

from __future__ import annotations

import json

from lllm_domain.errors import SandboxError

from lllm_adapters.jupyter.metadata import SessionMetadata

PROXY_RUNTIME_FACTORY = "lllm_adapters.proxies:runtime_from_settings"
"""Where the proxy runtime comes from (``module:function``) unless the metadata names another.

The function takes the settings dict and returns an object with ``call(path, params)``.
"""

CALL_FUNCTION_NAME = "CALL_API"
"""The name under which generated code finds the proxy call function (as in the original)."""


def init_cell_source(metadata: SessionMetadata) -> str:
    """The Python source of the init cell for a session with ``metadata``.

    The proxy runtime is imported only when the metadata activates proxies, so sessions without
    proxies work even where no proxy runtime is installed.
    """
    lines = [
        "# LLLM init cell: generated from the session metadata; re-run on every kernel start.",
        "import sys as _lllm_sys",
    ]
    if metadata.project_root:
        lines += [
            f"_lllm_root = {metadata.project_root!r}",
            "if _lllm_root not in _lllm_sys.path:",
            "    _lllm_sys.path.insert(0, _lllm_root)",
        ]
    if metadata.uses_proxies:
        factory = metadata.proxy_runtime_factory or PROXY_RUNTIME_FACTORY
        module, _, attr = factory.partition(":")
        if not module or not attr:
            raise SandboxError(
                f"proxy runtime factory {factory!r} is not of the form 'module:function'; "
                "fix SessionMetadata.proxy_runtime_factory"
            )
        settings = json.dumps(metadata.runtime_settings(), sort_keys=True, default=str)
        lines += [
            "import importlib as _lllm_importlib",
            "import json as _lllm_json",
            f"_lllm_factory = getattr(_lllm_importlib.import_module({module!r}), {attr!r})",
            f"_lllm_runtime = _lllm_factory(_lllm_json.loads({settings!r}))",
            f"{CALL_FUNCTION_NAME} = _lllm_runtime.call",
        ]
    return "\n".join(lines) + "\n"
