"""The sandbox port: programmable notebooks whose code runs in a kernel.

A *session* owns one notebook on disk and the kernel that runs it. This module holds the values a
session trades in (cells, their outputs, the result of running a cell, the session's metadata),
the typed errors, the protocols adapters implement (sync and async, session and manager) and the
code-execution tool an agent uses to run code in its session. It performs no I/O itself.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from attrs import define, field

from lllm_domain.errors import SandboxError
from lllm_domain.function import Function
from lllm_domain.message import EMPTY_MAPPING

if TYPE_CHECKING:
    from lllm_domain.proxy import ProxySettings

# -- Errors ----------------------------------------------------------------------------------


class CellIndexError(SandboxError, IndexError):
    """A cell index is outside the notebook."""


class SessionNotFoundError(SandboxError, KeyError):
    """No sandbox session has the requested name."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class KernelUnavailableError(SandboxError):
    """The kernel could not be started, restarted or reached."""


class CellRunError(SandboxError):
    """Running a cell did not finish cleanly; ``result`` is what was collected."""

    def __init__(self, message: str, result: RunResult) -> None:
        self.result = result
        super().__init__(message)


class CellExecutionError(CellRunError):
    """The cell's code raised an exception (the kernel is fine)."""


class CellTimeoutError(CellRunError):
    """The cell ran past its timeout and was interrupted (or the kernel was restarted)."""


class KernelDiedError(CellRunError):
    """The kernel process died while running the cell; it has been restarted, state is lost."""


# -- Cells and outputs -----------------------------------------------------------------------


class CellKind(enum.StrEnum):
    """What a cell holds."""

    CODE = "code"
    MARKDOWN = "markdown"


@define(frozen=True, slots=True)
class StreamOutput:
    """Text written to ``stdout`` or ``stderr``."""

    name: str
    text: str
    output_type: str = field(default="stream", init=False)


@define(frozen=True, slots=True)
class ExecuteResult:
    """The value of a cell's last expression, as MIME bundle ``data``."""

    data: Mapping[str, Any]
    execution_count: int | None = None
    metadata: Mapping[str, Any] = EMPTY_MAPPING
    output_type: str = field(default="execute_result", init=False)


@define(frozen=True, slots=True)
class DisplayData:
    """A rich display (a plot, an HTML table, ...) as MIME bundle ``data``."""

    data: Mapping[str, Any]
    metadata: Mapping[str, Any] = EMPTY_MAPPING
    output_type: str = field(default="display_data", init=False)


@define(frozen=True, slots=True)
class ErrorOutput:
    """An exception raised by the cell: its type name, message and formatted traceback lines."""

    ename: str
    evalue: str
    traceback: tuple[str, ...] = ()
    output_type: str = field(default="error", init=False)


CellOutput = StreamOutput | ExecuteResult | DisplayData | ErrorOutput
"""Any output a code cell can produce (the four nbformat output types)."""


@define(frozen=True, slots=True)
class Cell:
    """One notebook cell: its kind, source and (for code) outputs and execution count."""

    kind: CellKind
    source: str
    outputs: tuple[CellOutput, ...] = ()
    execution_count: int | None = None
    id: str | None = None


# -- Running cells ---------------------------------------------------------------------------


class RunStatus(enum.StrEnum):
    """How running a cell ended."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"


@define(frozen=True, slots=True)
class RunResult:
    """The outcome of running one cell.

    ``truncated`` is true when outputs went past the size cap and were cut (the notebook holds the
    cut text with a marker). ``kernel_restarted`` is true when the kernel had to be restarted
    (after a death, or a timeout the interrupt did not stop): the kernel's state is then lost.
    """

    index: int
    status: RunStatus
    outputs: tuple[CellOutput, ...] = ()
    execution_count: int | None = None
    truncated: bool = False
    kernel_restarted: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the cell ran to the end without an exception."""
        return self.status is RunStatus.OK

    @property
    def error_output(self) -> ErrorOutput | None:
        """The cell's exception, if it raised one."""
        for output in self.outputs:
            if isinstance(output, ErrorOutput):
                return output
        return None

    def error(self) -> CellRunError | None:
        """The typed error this result stands for, or None when it is OK."""
        if self.status is RunStatus.OK:
            return None
        if self.status is RunStatus.ERROR:
            err = self.error_output
            what = f"{err.ename}: {err.evalue}" if err else "an error"
            return CellExecutionError(
                f"cell {self.index} raised {what}; fix the code and run it again", self
            )
        if self.status is RunStatus.TIMEOUT:
            tail = (
                "the kernel did not answer the interrupt and was restarted (state is lost)"
                if self.kernel_restarted
                else "it was interrupted and the kernel is still usable"
            )
            return CellTimeoutError(
                f"cell {self.index} ran past its timeout: {tail}; make it faster or raise the "
                "timeout",
                self,
            )
        return KernelDiedError(
            f"the kernel died while running cell {self.index} (e.g. os._exit, a crash or the "
            "memory limit); it was restarted and its state is lost: re-run earlier cells",
            self,
        )

    def raise_for_status(self) -> RunResult:
        """Raise the typed error unless the cell ran cleanly; return self otherwise."""
        err = self.error()
        if err is not None:
            raise err
        return self

    def text(self, max_chars: int | None = None) -> str:
        """The outputs as plain text, for a model or a log (see :func:`render_outputs`)."""
        return render_outputs(self.outputs, max_chars=max_chars, status=self.status)


TRUNCATION_MARKER = "\n[... output truncated: {omitted} more characters not shown ...]\n"
"""Inserted where output was cut; ``{omitted}`` is the number of characters left out."""


def truncate_text(text: str, max_chars: int | None) -> tuple[str, bool]:
    """Cut ``text`` to ``max_chars`` (plus a clear marker); return it and whether it was cut."""
    if max_chars is None or len(text) <= max_chars:
        return text, False
    return text[:max_chars] + TRUNCATION_MARKER.format(omitted=len(text) - max_chars), True


def render_outputs(
    outputs: Sequence[CellOutput], *, max_chars: int | None = None, status: RunStatus | None = None
) -> str:
    """Outputs as the text a model reads: streams and ``text/plain`` as they are, without
    terminal colour codes; images and other rich data noted by MIME type."""
    parts: list[str] = []
    for output in outputs:
        if isinstance(output, StreamOutput):
            parts.append(strip_ansi(output.text))
        elif isinstance(output, ErrorOutput):
            lines = [strip_ansi(line) for line in output.traceback] or [
                f"{output.ename}: {output.evalue}"
            ]
            parts.append("\n".join(lines) + "\n")
        else:
            parts.append(_render_bundle(output.data))
    if status is RunStatus.TIMEOUT:
        parts.append("[the cell ran past its timeout and was interrupted]\n")
    elif status is RunStatus.KERNEL_DIED:
        parts.append("[the kernel died while running the cell; it was restarted, state is lost]\n")
    text = "".join(parts)
    return truncate_text(text, max_chars)[0]


def _render_bundle(data: Mapping[str, Any]) -> str:
    notes = [
        f"[{mime} output not shown as text]"
        for mime in data
        if mime.startswith("image/") or mime not in ("text/plain", "text/html", "text/markdown")
    ]
    plain = data.get("text/plain")
    text = _joined(plain) if plain is not None else ""
    if not text and "text/markdown" in data:
        text = _joined(data["text/markdown"])
    elif not text and "text/html" in data:
        text = "[text/html output]"
    return "\n".join([t for t in [text, *notes] if t]) + "\n"


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# -- Session metadata ------------------------------------------------------------------------


@define(frozen=True, slots=True)
class SessionMetadata:
    """What a session needs to rebuild its notebook and init cell.

    ``proxies`` lists the proxy paths to activate; ``proxy_settings`` are further runtime
    settings (:class:`~lllm_domain.proxy.ProxySettings` keys) passed through as they are. With
    neither, the init cell builds no proxy runtime and defines no ``CALL_API``; ``cutoff_date`` is
    the ISO date after which proxy results are dropped; ``project_root`` is put on the kernel's
    ``sys.path``. ``proxy_runtime_factory`` (``module:function``) overrides where the runtime is
    built from — mainly for tests and custom runtimes.
    """

    project_root: str | None = None
    proxies: tuple[str, ...] = ()
    cutoff_date: str | None = None
    deploy_mode: bool = False
    proxy_settings: Mapping[str, Any] = EMPTY_MAPPING
    proxy_runtime_factory: str | None = None
    extra: Mapping[str, Any] = EMPTY_MAPPING

    @property
    def uses_proxies(self) -> bool:
        """Whether the init cell builds a proxy runtime."""
        return bool(self.proxies) or bool(self.proxy_settings)

    def runtime_settings(self) -> dict[str, Any]:
        """The settings dict handed to the proxy runtime factory: ``proxy_settings`` (keys of
        :meth:`lllm_domain.proxy.ProxySettings.to_dict`) with ``activate``, ``cutoff_date`` and
        ``deploy_mode`` filled in from this metadata where ``proxy_settings`` leaves them out."""
        settings: dict[str, Any] = dict(self.proxy_settings)
        if self.proxies:
            settings.setdefault("activate", list(self.proxies))
        if self.cutoff_date is not None:
            settings.setdefault("cutoff_date", self.cutoff_date)
        if self.deploy_mode:
            settings.setdefault("deploy_mode", True)
        return settings

    @classmethod
    def for_proxies(
        cls, settings: ProxySettings, *, project_root: str | None = None, **kwargs: Any
    ) -> SessionMetadata:
        """Metadata whose init cell rebuilds the runtime described by ``settings``."""
        data = settings.to_dict()
        return cls(
            project_root=project_root,
            proxies=tuple(settings.activate or ()),
            cutoff_date=data["cutoff_date"],
            deploy_mode=settings.deploy_mode,
            proxy_settings=data,
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {
            "project_root": self.project_root,
            "proxies": list(self.proxies),
            "cutoff_date": self.cutoff_date,
            "deploy_mode": self.deploy_mode,
            "proxy_settings": dict(self.proxy_settings),
            "proxy_runtime_factory": self.proxy_runtime_factory,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SessionMetadata:
        """Read what :meth:`to_dict` wrote (unknown keys go to ``extra``)."""
        data = dict(data or {})
        known = {
            "project_root",
            "proxies",
            "cutoff_date",
            "deploy_mode",
            "proxy_settings",
            "proxy_runtime_factory",
            "extra",
        }
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known})
        return cls(
            project_root=data.get("project_root"),
            proxies=tuple(data.get("proxies") or ()),
            cutoff_date=data.get("cutoff_date"),
            deploy_mode=bool(data.get("deploy_mode", False)),
            proxy_settings=dict(data.get("proxy_settings") or {}),
            proxy_runtime_factory=data.get("proxy_runtime_factory"),
            extra=extra,
        )


# -- Protocols -------------------------------------------------------------------------------


@runtime_checkable
class SandboxSession(Protocol):
    """One notebook on disk and the kernel that runs it (blocking form).

    Cell indices are positions in the notebook, init cell included (it is cell 0).
    """

    @property
    def name(self) -> str:
        """The session's name."""
        ...

    @property
    def metadata(self) -> SessionMetadata:
        """What the session was created with."""
        ...

    def cells(self) -> list[Cell]:
        """Every cell, in order."""
        ...

    def read_cell(self, index: int) -> Cell:
        """The cell at ``index``."""
        ...

    def append_cell(self, source: str, kind: CellKind | str = CellKind.CODE) -> int:
        """Add a cell at the end; return its index."""
        ...

    def insert_cell(self, index: int, source: str, kind: CellKind | str = CellKind.CODE) -> int:
        """Insert a cell before ``index``; return its index."""
        ...

    def overwrite_cell(self, index: int, source: str) -> None:
        """Replace the source of a cell (its outputs are cleared)."""
        ...

    def delete_cell(self, index: int) -> None:
        """Remove a cell."""
        ...

    def run_cell(self, index: int, timeout: float | None = None) -> RunResult:
        """Run one cell; its outputs are written into the notebook."""
        ...

    def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        """Append a code cell with ``source`` and run it."""
        ...

    def run_all(self, *, restart: bool = False, timeout: float | None = None) -> list[RunResult]:
        """Run every code cell in order, stopping at the first that does not finish OK."""
        ...

    def start(self) -> None:
        """Start the kernel (and run the init cell) if it is not running."""
        ...

    def interrupt(self) -> None:
        """Interrupt the running cell."""
        ...

    def restart(self) -> None:
        """Restart the kernel (state is lost) and re-run the init cell."""
        ...

    def shutdown(self) -> None:
        """Stop the kernel."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The session as plain data, enough to rebuild its notebook."""
        ...


@runtime_checkable
class AsyncSandboxSession(Protocol):
    """The async form of :class:`SandboxSession` (notebook edits stay synchronous)."""

    @property
    def name(self) -> str:
        """The session's name."""
        ...

    def append_cell(self, source: str, kind: CellKind | str = CellKind.CODE) -> int:
        """Add a cell at the end; return its index."""
        ...

    async def run_cell(self, index: int, timeout: float | None = None) -> RunResult:
        """Run one cell; its outputs are written into the notebook."""
        ...

    async def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        """Append a code cell with ``source`` and run it."""
        ...

    async def run_all(
        self, *, restart: bool = False, timeout: float | None = None
    ) -> list[RunResult]:
        """Run every code cell in order, stopping at the first that does not finish OK."""
        ...

    async def start(self) -> None:
        """Start the kernel if it is not running."""
        ...

    async def interrupt(self) -> None:
        """Interrupt the running cell."""
        ...

    async def restart(self) -> None:
        """Restart the kernel and re-run the init cell."""
        ...

    async def shutdown(self) -> None:
        """Stop the kernel."""
        ...


@runtime_checkable
class Sandbox(Protocol):
    """Creates, finds, shuts down and deletes sandbox sessions (blocking form)."""

    def create_session(
        self, name: str, metadata: SessionMetadata | Mapping[str, Any] | None = None
    ) -> SandboxSession:
        """A new session called ``name``."""
        ...

    def get_session(self, name: str) -> SandboxSession:
        """The existing session called ``name``."""
        ...

    def list_sessions(self) -> list[str]:
        """The names of every session."""
        ...

    def shutdown_session(self, name: str) -> None:
        """Stop the session's kernel; its notebook stays on disk."""
        ...

    def delete_session(self, name: str) -> None:
        """Stop the session's kernel and remove its folder."""
        ...


# -- The code-execution tool -----------------------------------------------------------------

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


__all__ = [
    "DEFAULT_TOOL_OUTPUT_CHARS",
    "TRUNCATION_MARKER",
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
    "SandboxSession",
    "SessionMetadata",
    "SessionNotFoundError",
    "StreamOutput",
    "async_code_execution_tool",
    "code_execution_tool",
    "render_outputs",
    "strip_ansi",
    "truncate_text",
]
