"""The async Jupyter session: the same notebook and rules as :class:`JupyterSession`, driven by
jupyter_client's async kernel manager and client."""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import RunResult, RunStatus

from lllm_adapters.jupyter.kernel import AsyncLocalKernel
from lllm_adapters.jupyter.notebook_session import Node, NotebookSession
from lllm_adapters.jupyter.output_collector import OutputCollector
from lllm_adapters.jupyter.session import POLL_INTERVAL

_REPLY_TIMEOUT = 2.0


class AsyncJupyterSession(NotebookSession):
    """A sandbox session on a local Jupyter kernel, async form.

    Notebook edits are plain (synchronous) file work; starting, running and restarting are
    coroutines. Remote kernels (connection files) are supported by the blocking
    :class:`JupyterSession` only.
    """

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, **kwargs)
        if self.launch.remote:
            raise SandboxError(
                "AsyncJupyterSession launches its own kernel; to use a kernel through its "
                "connection file, use the blocking JupyterSession"
            )
        self._kernel: AsyncLocalKernel | None = None
        self._client: AsyncKernelClient | None = None
        # One run at a time: concurrent runs would read each other's kernel messages. Cell
        # edits are synchronous and cannot wait for it; runs write to the cell object they
        # started with, and the running cell may not be deleted or overwritten (see _edit).
        self._lock = asyncio.Lock()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], folder: Path, **kwargs: Any) -> AsyncJupyterSession:
        """Rebuild a session (notebook and metadata) from :meth:`to_dict` output in ``folder``."""
        NotebookSession.write_from_dict(data, folder)
        return cls(folder, name=str(data["name"]), **kwargs)

    @property
    def started(self) -> bool:
        """Whether a kernel is attached."""
        return self._client is not None

    async def start(self) -> None:
        """Start the kernel and run the init cell, unless already started."""
        async with self._lock:
            await self._start()

    async def _start(self) -> None:
        if self._client is not None:
            return
        kernel = AsyncLocalKernel(self.launch, self.folder, self.redactor)
        self._client = await kernel.start()  # a kernel that fails to start cleans up after itself
        self._kernel = kernel
        await self._run_init()

    async def interrupt(self) -> None:
        """Interrupt the running cell."""
        if self._kernel is not None:
            await self._kernel.interrupt()

    async def restart(self) -> None:
        """Restart the kernel (its state is lost) and re-run the init cell."""
        async with self._lock:
            await self._restart()

    async def _restart(self) -> None:
        if self._kernel is None:
            await self._start()
            return
        await self._restart_kernel(self._kernel)
        await self._run_init()

    async def _restart_kernel(self, kernel: AsyncLocalKernel) -> None:
        self._client = None
        try:
            self._client = await kernel.restart()
        except BaseException:
            # The kernel shut itself down; forget it so the next run starts a new one.
            await self.shutdown()
            raise

    async def shutdown(self) -> None:
        """Stop the kernel (the notebook stays on disk)."""
        kernel, self._kernel, self._client = self._kernel, None, None
        if kernel is not None:
            await kernel.shutdown()

    async def __aenter__(self) -> AsyncJupyterSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def _run_init(self) -> None:
        """Run the init cell on a fresh kernel; if it fails, stop the kernel, so the next run
        starts again with the init cell instead of running user code without it."""
        node = self._init_node()
        if node is None:
            return
        try:
            result = await self._run(node, self.launch.startup_timeout)
        except BaseException:
            await self.shutdown()
            raise
        if not result.ok:
            await self.shutdown()
            raise self._init_failed(result)

    async def run_cell(self, index: int, timeout: float | None = None) -> RunResult:
        """Run one cell with a timeout; see :meth:`JupyterSession.run_cell`."""
        # The cell is fixed now: cells inserted while this waits for the lock do not change
        # which cell runs.
        node = self.notebook.node(index)
        if node.cell_type != "code":
            return RunResult(index=index, status=RunStatus.OK)
        async with self._lock:
            if self.notebook.index_of(node) is None:
                raise SandboxError(
                    f"cell {index} was deleted before its run started; append it again"
                )
            await self._start()
            return await self._run(node, self._timeout(timeout))

    async def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        """Append a code cell with ``source`` and run it."""
        return await self.run_cell(self.append_cell(source), timeout)

    async def run_all(
        self, *, restart: bool = False, timeout: float | None = None
    ) -> list[RunResult]:
        """Run every code cell after the init cell in order; stop at the first that fails."""
        async with self._lock:
            return await self._run_all(restart, timeout)

    async def _run_all(self, restart: bool, timeout: float | None) -> list[RunResult]:
        if restart:
            await self._restart()
        else:
            await self._start()
        results: list[RunResult] = []
        for node in self._code_nodes_after_init():
            if self.notebook.index_of(node) is None:
                continue  # deleted while earlier cells ran
            result = await self._run(node, self._timeout(timeout))
            results.append(result)
            if not result.ok:
                break
        return results

    async def _run(self, node: Node, timeout: float | None) -> RunResult:
        # Restored, not cleared: a run that restarts the kernel runs the init cell inside it.
        previous, self._running = self._running, node
        try:
            return await self._execute(node, timeout)
        finally:
            self._running = previous

    async def _execute(self, node: Node, timeout: float | None) -> RunResult:
        assert self._client is not None and self._kernel is not None
        kc, kernel = self._client, self._kernel
        started = time.monotonic()
        msg_id = kc.execute(node.source, allow_stdin=False)
        collector = OutputCollector(msg_id, self.max_output_chars)
        deadline = None if timeout is None else started + timeout
        interrupted = False
        status = RunStatus.OK
        restarted = False
        while not collector.done:
            now = time.monotonic()
            wait = POLL_INTERVAL if deadline is None else min(POLL_INTERVAL, deadline - now)
            try:
                msg = await kc.get_iopub_msg(timeout=max(wait, 0.001))
            except queue.Empty:
                if not await kernel.is_alive():
                    status, restarted = RunStatus.KERNEL_DIED, True
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    if interrupted:
                        status, restarted = RunStatus.TIMEOUT, True
                        break
                    await kernel.interrupt()
                    interrupted = True
                    deadline = time.monotonic() + self.launch.interrupt_grace
                continue
            collector.feed(msg)
        if restarted:
            result = self._record(node, collector, status, restarted=True, started=started)
            await self._restart_kernel(kernel)
            if node is not self._init_node():
                await self._run_init()
            return result
        await self._drain_reply(kc, msg_id)
        if interrupted:
            status = RunStatus.TIMEOUT
        elif collector.raised:
            status = RunStatus.ERROR
        return self._record(node, collector, status, restarted=False, started=started)

    @staticmethod
    async def _drain_reply(kc: AsyncKernelClient, msg_id: str) -> None:
        deadline = time.monotonic() + _REPLY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                reply = await kc.get_shell_msg(timeout=_REPLY_TIMEOUT)
            except queue.Empty:
                return
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return
