"""The Jupyter sandbox adapter: notebook sessions on jupyter_client kernels and nbformat files.

Importing this package starts nothing; a kernel starts when a session first runs code. Needs
the ``jupyter`` extra: ``pip install "lllm-adapters[jupyter]"``.
"""

from lllm_adapters.extras import requires_extra

with requires_extra("jupyter", "lllm_adapters.jupyter"):
    from lllm_adapters.jupyter.async_session import AsyncJupyterSession
    from lllm_adapters.jupyter.init_cell import (
        CALL_FUNCTION_NAME,
        PROXY_RUNTIME_FACTORY,
        init_cell_source,
    )
    from lllm_adapters.jupyter.kernel import KERNEL_LOG_NAME, MIN_MEMORY_LIMIT, KernelLaunch
    from lllm_adapters.jupyter.manager import AsyncJupyterSandbox, JupyterSandbox
    from lllm_adapters.jupyter.metadata import SessionMetadata
    from lllm_adapters.jupyter.notebook_file import NotebookFile
    from lllm_adapters.jupyter.notebook_session import (
        DEFAULT_TIMEOUT,
        NOTEBOOK_NAME,
        NotebookSession,
    )
    from lllm_adapters.jupyter.output_collector import DEFAULT_MAX_OUTPUT_CHARS, OutputCollector
    from lllm_adapters.jupyter.session import JupyterSession

__all__ = [
    "CALL_FUNCTION_NAME",
    "DEFAULT_MAX_OUTPUT_CHARS",
    "DEFAULT_TIMEOUT",
    "KERNEL_LOG_NAME",
    "MIN_MEMORY_LIMIT",
    "NOTEBOOK_NAME",
    "PROXY_RUNTIME_FACTORY",
    "AsyncJupyterSandbox",
    "AsyncJupyterSession",
    "JupyterSandbox",
    "JupyterSession",
    "KernelLaunch",
    "NotebookFile",
    "NotebookSession",
    "OutputCollector",
    "SessionMetadata",
    "init_cell_source",
]
