"""The sandbox: programmable notebooks whose code runs in a kernel.

A *session* owns one notebook on disk and the kernel that runs it. The package is laid out by
concept: :mod:`~lllm_domain.sandbox.values` (cells, outputs, run results),
:mod:`~lllm_domain.sandbox.rendering` (outputs as text for a model),
:mod:`~lllm_domain.sandbox.ports` (the protocols adapters implement, sync and async) and
:mod:`~lllm_domain.sandbox.tool` (the code-execution tool an agent uses). The typed errors live
with every other error in :mod:`lllm_domain.errors`. It performs no I/O itself; every public
name is importable from ``lllm_domain.sandbox``. A session's metadata is its adapter's value
(``lllm_adapters.jupyter.SessionMetadata`` for Jupyter).
"""

from lllm_domain.errors import (
    CellExecutionError,
    CellIndexError,
    CellRunError,
    CellTimeoutError,
    KernelDiedError,
    KernelUnavailableError,
    SandboxError,
    SessionNotFoundError,
)
from lllm_domain.sandbox.ports import (
    AsyncSandbox,
    AsyncSandboxSession,
    Sandbox,
    SandboxSession,
    SessionSpec,
)
from lllm_domain.sandbox.rendering import (
    TRUNCATION_MARKER,
    render_outputs,
    strip_ansi,
    truncate_text,
)
from lllm_domain.sandbox.tool import (
    DEFAULT_TOOL_OUTPUT_CHARS,
    async_code_execution_tool,
    code_execution_tool,
)
from lllm_domain.sandbox.values import (
    Cell,
    CellKind,
    CellOutput,
    DisplayData,
    ErrorOutput,
    ExecuteResult,
    RunResult,
    RunStatus,
    StreamOutput,
)

__all__ = [
    "DEFAULT_TOOL_OUTPUT_CHARS",
    "TRUNCATION_MARKER",
    "AsyncSandbox",
    "AsyncSandboxSession",
    "Cell",
    "CellExecutionError",
    "CellIndexError",
    "CellKind",
    "CellOutput",
    "CellRunError",
    "CellTimeoutError",
    "DisplayData",
    "ErrorOutput",
    "ExecuteResult",
    "KernelDiedError",
    "KernelUnavailableError",
    "RunResult",
    "RunStatus",
    "Sandbox",
    "SandboxError",
    "SandboxSession",
    "SessionNotFoundError",
    "SessionSpec",
    "StreamOutput",
    "async_code_execution_tool",
    "code_execution_tool",
    "render_outputs",
    "strip_ansi",
    "truncate_text",
]
