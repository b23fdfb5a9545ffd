"""The values a sandbox session trades in: cells, their outputs and the result of running one."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from attrs import define, field

from lllm_domain.errors import CellExecutionError, CellRunError, CellTimeoutError, KernelDiedError
from lllm_domain.message import EMPTY_MAPPING


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
        """The outputs as plain text, for a model or a log (see
        :func:`~lllm_domain.sandbox.rendering.render_outputs`)."""
        from lllm_domain.sandbox.rendering import render_outputs  # it renders these values

        return render_outputs(self.outputs, max_chars=max_chars, status=self.status)
