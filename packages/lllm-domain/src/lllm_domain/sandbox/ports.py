"""The sandbox ports: what the domain asks of a notebook-and-kernel adapter (sync and async
sessions, and the sandbox that manages them).

A session's metadata (what it was created with: project root, proxies, cutoff date, ...) is the
adapter's own value: the Jupyter adapter's is ``lllm_adapters.jupyter.SessionMetadata``. So that
the domain names no adapter type, the ports take that metadata as plain data
(:meth:`Sandbox.create_session`, :meth:`AsyncSandbox.create_session`) and give it back as any
value that turns into plain data (:class:`SessionSpec`, what :attr:`SandboxSession.metadata`
returns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from lllm_domain.sandbox.values import Cell, CellKind, RunResult


@runtime_checkable
class SessionSpec(Protocol):
    """What a session is created with, as its adapter's own value: anything that turns into
    plain data (JSON-ready) that the same adapter reads back."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        ...


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
    def metadata(self) -> SessionSpec:
        """What the session was created with (the adapter's metadata value)."""
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
        self, name: str, metadata: Mapping[str, Any] | None = None
    ) -> SandboxSession:
        """A new session called ``name``, set up by ``metadata`` in its plain-data form (the
        adapter's metadata value's ``to_dict()``). An adapter may accept its own metadata value
        too (the Jupyter sandbox takes a ``SessionMetadata``)."""
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


@runtime_checkable
class AsyncSandbox(Protocol):
    """The async form of :class:`Sandbox`: it hands out :class:`AsyncSandboxSession` s, and
    stopping or deleting a session is awaited (finding and listing stay synchronous)."""

    def create_session(
        self, name: str, metadata: Mapping[str, Any] | None = None
    ) -> AsyncSandboxSession:
        """A new session called ``name``, set up by ``metadata`` in its plain-data form."""
        ...

    def get_session(self, name: str) -> AsyncSandboxSession:
        """The existing session called ``name``."""
        ...

    def list_sessions(self) -> list[str]:
        """The names of every session."""
        ...

    async def shutdown_session(self, name: str) -> None:
        """Stop the session's kernel; its notebook stays on disk."""
        ...

    async def delete_session(self, name: str) -> None:
        """Stop the session's kernel and remove its folder."""
        ...
