"""The async Jupyter session: the async driver of the shared session flows.

The rules are those of :class:`~lllm_adapters.jupyter.session.JupyterSession` (they live in
:mod:`lllm_adapters.jupyter.kernel_session` and :mod:`lllm_adapters.jupyter.cell_run`); this
module performs their actions with jupyter_client's async kernel manager and client.
"""

from __future__ import annotations

import asyncio
import queue
import time
from pathlib import Path
from typing import Any, TypeVar

from jupyter_client.asynchronous.client import AsyncKernelClient
from lllm_domain.sandbox import RunResult

from lllm_adapters.jupyter import cell_run, kernel_session
from lllm_adapters.jupyter.kernel import AsyncLocalKernel, AsyncRemoteKernel
from lllm_adapters.jupyter.kernel_session import Flow, KernelAction, KernelSession

T = TypeVar("T")


class AsyncJupyterSession(KernelSession[AsyncLocalKernel | AsyncRemoteKernel, AsyncKernelClient]):
    """A sandbox session on a local (or remote) Jupyter kernel, async form.

    Notebook edits are plain (synchronous) file work; starting, running and restarting are
    coroutines. The rules are those of the blocking
    :class:`~lllm_adapters.jupyter.session.JupyterSession`.
    """

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, **kwargs)
        # One run at a time: concurrent runs would read each other's kernel messages. Cell
        # edits are synchronous and cannot wait for it; runs write to the cell object they
        # started with, and the running cell may not be deleted or overwritten (see _edit).
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Start the kernel and run the init cell, unless already started."""
        await self._drive(self._start_flow())

    async def restart(self) -> None:
        """Restart the kernel (its state is lost) and re-run the init cell."""
        await self._drive(self._restart_flow())

    async def interrupt(self) -> None:
        """Interrupt the running cell."""
        if self._kernel is not None:
            await self._kernel.interrupt()

    async def shutdown(self) -> None:
        """Stop the kernel (the notebook stays on disk)."""
        kernel, self._kernel, self._client = self._kernel, None, None
        if kernel is not None:
            await kernel.shutdown()

    async def __aenter__(self) -> AsyncJupyterSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def run_cell(self, index: int, timeout: float | None = None) -> RunResult:
        """Run one cell with a timeout; see :meth:`JupyterSession.run_cell`."""
        node = self._code_node(index)
        if node is None:
            return kernel_session.ok_result(index)
        return await self._drive(self._run_cell_flow(node, index, timeout))

    async def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        """Append a code cell with ``source`` and run it."""
        return await self.run_cell(self.append_cell(source), timeout)

    async def run_all(
        self, *, restart: bool = False, timeout: float | None = None
    ) -> list[RunResult]:
        """Run every code cell after the init cell in order; stop at the first that fails."""
        return await self._drive(self._run_all_flow(restart, timeout))

    # -- the driver ------------------------------------------------------------------------

    async def _drive(self, flow: Flow[T]) -> T:
        """Perform ``flow``'s actions, one run at a time. An action that raises is thrown into
        the flow, so its clean-up (shut down a kernel whose init cell failed, forget one whose
        restart failed) runs before the error reaches the caller."""
        async with self._lock:
            outcome: cell_run.Event | None = None
            error: BaseException | None = None
            try:
                while True:
                    action = flow.send(outcome) if error is None else flow.throw(error)
                    error = None
                    try:
                        outcome = await self._perform(action)
                    except BaseException as exc:
                        error = exc
            except StopIteration as stop:
                result: T = stop.value
                return result
            finally:
                flow.close()

    async def _perform(self, action: KernelAction) -> cell_run.Event | None:
        kc, kernel = self._client, self._kernel
        if isinstance(action, kernel_session.StartKernel):
            new = AsyncRemoteKernel(self.launch) if self.launch.remote else self._local_kernel()
            self._client, self._kernel = await new.start(), new
            return None
        if isinstance(action, kernel_session.ShutdownKernel):
            await self.shutdown()
            return None
        assert kc is not None and kernel is not None
        if isinstance(action, cell_run.Await):
            try:
                msg = await kc.get_iopub_msg(timeout=action.timeout)
                return cell_run.Received(msg, time.monotonic())
            except queue.Empty:
                return cell_run.Quiet(time.monotonic())
        if isinstance(action, cell_run.Execute):
            return cell_run.Executed(kc.execute(action.source, allow_stdin=False), time.monotonic())
        if isinstance(action, cell_run.CheckAlive):
            return cell_run.AliveChecked(await kernel.is_alive(), time.monotonic())
        if isinstance(action, cell_run.Interrupt):
            await kernel.interrupt()
            return cell_run.Interrupted(time.monotonic())
        if isinstance(action, cell_run.DrainReply):
            await self._drain_reply(kc, action.msg_id)
            return cell_run.Drained()
        assert isinstance(action, cell_run.RestartKernel)
        self._client = None
        self._client = await kernel.restart()
        return None

    def _local_kernel(self) -> AsyncLocalKernel:
        return AsyncLocalKernel(self.launch, self.folder, self.redactor)

    @staticmethod
    async def _drain_reply(kc: AsyncKernelClient, msg_id: str) -> None:
        deadline = time.monotonic() + kernel_session.REPLY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                reply = await kc.get_shell_msg(timeout=kernel_session.REPLY_TIMEOUT)
            except queue.Empty:
                return
            if kernel_session.is_reply(reply, msg_id):
                return
