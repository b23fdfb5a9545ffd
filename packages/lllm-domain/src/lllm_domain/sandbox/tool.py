"""The code-execution tool: an agent runs Python in its sandbox session and reads the outputs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from lllm_domain.function import Function
from lllm_domain.sandbox.ports import AsyncSandboxSession, SandboxSession
from lllm_domain.sandbox.values import RunResult

DEFAULT_TOOL_OUTPUT_CHARS = 8000
"""How much output text the code-execution tool hands back to the model by default."""


def code_execution_tool(
    session: SandboxSession,
    *,
    name: str = "run_python",
    timeout: float | None = 60.0,
    max_output_chars: int = DEFAULT_TOOL_OUTPUT_CHARS,
) -> Function:
    """A tool that appends ``code`` to ``session``'s notebook, runs it and returns its outputs as
    text (cut past ``max_output_chars`` with a marker; images noted by MIME type).

    Failures are data for the model: an exception, a timeout or a dead kernel come back as text
    saying what happened, never as a crash of the agent call.
    """

    def run(code: str) -> str:
        result = session.run_code(code, timeout=timeout)
        return _tool_text(result, max_output_chars)

    return _tool_function(name, run)


def async_code_execution_tool(
    session: AsyncSandboxSession,
    *,
    name: str = "run_python",
    timeout: float | None = 60.0,
    max_output_chars: int = DEFAULT_TOOL_OUTPUT_CHARS,
) -> Function:
    """The async form of :func:`code_execution_tool` (its callable is a coroutine function, which
    :meth:`Function.ainvoke` awaits)."""

    async def run(code: str) -> str:
        result = await session.run_code(code, timeout=timeout)
        return _tool_text(result, max_output_chars)

    return _tool_function(name, run)


def _tool_text(result: RunResult, max_output_chars: int) -> str:
    header = f"[cell {result.index} · {result.status.value}]\n"
    return header + result.text(max_chars=max_output_chars)


def _tool_function(name: str, run: Callable[..., Any]) -> Function:
    return Function(
        name=name,
        description=(
            "Run Python code in this session's Jupyter kernel and return its printed output, "
            "the value of the last expression, and any error with its traceback. State "
            "(variables, imports) persists between calls."
        ),
        parameters={"code": {"type": "string", "description": "Python source to run."}},
        required=("code",),
        callable=run,
        # A sync session blocks while the kernel runs; async agent calls run it in a thread.
        blocking=not inspect.iscoroutinefunction(run),
    )
