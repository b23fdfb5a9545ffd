"""What the blocking and async Jupyter sessions share: every rule of starting, running and
restarting, written once as sans-IO *flows*.

A flow is a generator (in the manner of httpx's auth flows): it yields the kernel work to do
next (:data:`KernelAction`) and receives the outcome (:data:`~lllm_adapters.jupyter.cell_run.Event`,
or None for start and shutdown). A driver — :class:`~lllm_adapters.jupyter.session.JupyterSession`
or :class:`~lllm_adapters.jupyter.async_session.AsyncJupyterSession` — performs each action on
its kernel and sends the outcome back; when an action raises, the driver throws the exception
into the flow, so the flow's clean-up (shut a kernel down whose init cell failed, forget one
whose restart failed) is the same for both. One cell's run is the
:class:`~lllm_adapters.jupyter.cell_run.CellRun` machine; the flows add the session's rules
around it: the kernel starts on the first run, the init cell runs after every start and restart
(and a kernel whose init cell fails is shut down), a cell deleted before its run started is an
error, and ``run_all`` skips cells deleted while earlier ones ran.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from attrs import define
from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import RunResult, RunStatus

from lllm_adapters.jupyter.cell_run import (
    Await,
    CellRun,
    CheckAlive,
    DrainReply,
    Event,
    Execute,
    Finished,
    InitRan,
    Interrupt,
    Record,
    Recorded,
    Restarted,
    RestartKernel,
    RunInit,
)
from lllm_adapters.jupyter.notebook_session import Node, NotebookSession


@define(frozen=True, slots=True)
class StartKernel:
    """Action: start (or connect to) the session's kernel; answer None."""


@define(frozen=True, slots=True)
class ShutdownKernel:
    """Action: stop the session's kernel (the notebook stays); answer None."""


KernelAction = (
    Execute | Await | CheckAlive | Interrupt | DrainReply | RestartKernel | StartKernel
) | ShutdownKernel
"""The kernel work a flow asks its driver for."""

T = TypeVar("T")
K = TypeVar("K")
C = TypeVar("C")

Flow = Generator[KernelAction, Event | None, T]
"""A session operation: yields kernel actions, receives their outcomes, returns ``T``."""


class KernelSession(NotebookSession, Generic[K, C]):
    """A notebook session with a kernel handle of type ``K`` and its client of type ``C``, and
    the flows that run it. Subclasses are the drivers; they add only I/O."""

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, **kwargs)
        self._kernel: K | None = None
        self._client: C | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], folder: Path, **kwargs: Any) -> Self:
        """Rebuild a session (notebook and metadata) from :meth:`to_dict` output in ``folder``."""
        NotebookSession.write_from_dict(data, folder)
        return cls(folder, name=str(data["name"]), **kwargs)

    @property
    def started(self) -> bool:
        """Whether a kernel is attached."""
        return self._client is not None

    def _code_node(self, index: int) -> Node | None:
        """The cell at ``index`` if it is a code cell (fixed now: cells inserted while the run
        waits for the session do not change which cell runs), else None."""
        node = self.notebook.node(index)
        return node if node.cell_type == "code" else None

    # -- flows -------------------------------------------------------------------------------

    def _start_flow(self) -> Flow[None]:
        if self._client is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        yield StartKernel()  # a kernel that fails to start cleans up after itself
        yield from self._init_flow()

    def _restart_flow(self) -> Flow[None]:
        if self._kernel is None:
            yield from self._start_flow()
            return
        yield from self._restart_kernel_flow()
        yield from self._init_flow()

    def _restart_kernel_flow(self) -> Flow[None]:
        try:
            yield RestartKernel()
        except BaseException:
            # The kernel shut itself down; forget it so the next run starts a new one.
            yield ShutdownKernel()
            raise

    def _init_flow(self) -> Flow[None]:
        """Run the init cell on a fresh kernel; if it fails, stop the kernel, so the next run
        starts again with the init cell instead of running user code without it."""
        node = self._init_node()
        if node is None:
            return
        try:
            result = yield from self._run_flow(node, self.launch.startup_timeout, reinit=False)
        except BaseException:
            yield ShutdownKernel()
            raise
        if not result.ok:
            yield ShutdownKernel()
            raise self._init_failed(result)

    def _run_cell_flow(self, node: Node, index: int, timeout: float | None) -> Flow[RunResult]:
        if self.notebook.index_of(node) is None:
            raise SandboxError(
                f"cell {index} of session {self.name!r} was deleted before its run started; "
                "append it again"
            )
        yield from self._start_flow()
        return (yield from self._run_flow(node, self._timeout(timeout), reinit=True))

    def _run_all_flow(self, restart: bool, timeout: float | None) -> Flow[list[RunResult]]:
        yield from self._restart_flow() if restart else self._start_flow()
        results: list[RunResult] = []
        for node in self._code_nodes_after_init():
            if self.notebook.index_of(node) is None:
                continue  # deleted while earlier cells ran
            result = yield from self._run_flow(node, self._timeout(timeout), reinit=True)
            results.append(result)
            if not result.ok:
                break
        return results

    def _run_flow(self, node: Node, timeout: float | None, *, reinit: bool) -> Flow[RunResult]:
        """Drive one :class:`CellRun`: kernel actions go to the driver; recording and the
        init cell's re-run are done here, the same for both drivers."""
        run = CellRun(
            node.source,
            timeout=timeout,
            interrupt_grace=self.launch.interrupt_grace,
            reinit=reinit,
            max_output_chars=self.max_output_chars,
        )
        started = time.monotonic()
        # Restored, not cleared: a run that restarts the kernel runs the init cell inside it.
        previous, self._running = self._running, node
        try:
            action = run.start()
            while not isinstance(action, Finished):
                event: Event | None
                if isinstance(action, Record):
                    event = Recorded(self._record_action(node, action, started))
                elif isinstance(action, RestartKernel):
                    yield from self._restart_kernel_flow()
                    event = Restarted()
                elif isinstance(action, RunInit):
                    yield from self._init_flow()
                    event = InitRan()
                else:
                    event = yield action
                assert event is not None
                action = run.send(event)
            return action.result
        finally:
            self._running = previous

    def _record_action(self, node: Node, action: Record, started: float) -> RunResult:
        return self._record(
            node,
            action.collector,
            action.status,
            restarted=action.kernel_restarted,
            started=started,
        )


REPLY_TIMEOUT = 2.0
"""Seconds a driver waits for a finished cell's shell reply before going on without it."""


def is_reply(reply: Mapping[str, Any], msg_id: str) -> bool:
    """Whether shell message ``reply`` answers request ``msg_id``. (The reply carries nothing
    the IOPub messages did not; drivers read it so the shell queue does not fill with stale
    replies.)"""
    return bool(reply.get("parent_header", {}).get("msg_id") == msg_id)


def ok_result(index: int) -> RunResult:
    """The result of "running" a cell that holds no code (markdown): nothing ran, all is well."""
    return RunResult(index=index, status=RunStatus.OK)
