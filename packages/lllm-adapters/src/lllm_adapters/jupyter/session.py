"""The blocking Jupyter session: a notebook on disk and a kernel, driven by jupyter_client."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from lllm_domain.sandbox import RunResult, RunStatus

from lllm_adapters.jupyter.kernel import LocalKernel, RemoteKernel
from lllm_adapters.jupyter.notebook_session import Node, NotebookSession
from lllm_adapters.jupyter.output_collector import OutputCollector

POLL_INTERVAL = 0.2
"""Seconds between checks that the kernel is still alive while a cell runs."""

_REPLY_TIMEOUT = 2.0


class JupyterSession(NotebookSession):
    """A sandbox session on a local (or remote) Jupyter kernel, blocking form.

    Nothing starts when the session is built: the kernel is launched on the first run (or
    :meth:`start`) and the init cell runs right after every start and restart. Use it as a
    context manager, or call :meth:`shutdown`, to stop the kernel.
    """

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, **kwargs)
        self._kernel: LocalKernel | RemoteKernel | None = None
        self._client: BlockingKernelClient | None = None
        # One run at a time: concurrent runs would read each other's kernel messages. Cell edits
        # take it too, so they never move cells under a running one. Reentrant because a run
        # that restarts the kernel runs the init cell, and run_code appends then runs.
        self._lock = threading.RLock()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], folder: Path, **kwargs: Any) -> JupyterSession:
        """Rebuild a session (notebook and metadata) from :meth:`to_dict` output in ``folder``."""
        NotebookSession.write_from_dict(data, folder)
        return cls(folder, name=str(data["name"]), **kwargs)

    # -- kernel lifecycle --------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether a kernel is attached."""
        return self._client is not None

    def start(self) -> None:
        """Start the kernel and run the init cell, unless already started."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        if self._client is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        kernel: LocalKernel | RemoteKernel = (
            RemoteKernel(self.launch)
            if self.launch.remote
            else LocalKernel(self.launch, self.folder, self.redactor)
        )
        self._client = kernel.start()  # a kernel that fails to start cleans up after itself
        self._kernel = kernel
        self._run_init()

    def interrupt(self) -> None:
        """Interrupt the running cell (safe to call from another thread)."""
        if self._kernel is not None:
            self._kernel.interrupt()

    def restart(self) -> None:
        """Restart the kernel (its state is lost) and re-run the init cell."""
        with self._lock:
            self._restart()

    def _restart(self) -> None:
        if self._kernel is None:
            self._start()
            return
        self._restart_kernel(self._kernel)
        self._run_init()

    def _restart_kernel(self, kernel: LocalKernel | RemoteKernel) -> None:
        self._client = None
        try:
            self._client = kernel.restart()
        except BaseException:
            # The kernel shut itself down; forget it so the next run starts a new one.
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop the kernel (the notebook stays on disk)."""
        kernel, self._kernel, self._client = self._kernel, None, None
        if kernel is not None:
            kernel.shutdown()

    def __enter__(self) -> JupyterSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _run_init(self) -> None:
        """Run the init cell on a fresh kernel; if it fails, stop the kernel, so the next run
        starts again with the init cell instead of running user code without it."""
        node = self._init_node()
        if node is None:
            return
        try:
            result = self._run(node, self.launch.startup_timeout)
        except BaseException:
            self.shutdown()
            raise
        if not result.ok:
            self.shutdown()
            raise self._init_failed(result)

    @contextlib.contextmanager
    def _edit(self) -> Iterator[None]:
        with self._lock:
            yield

    # -- running cells -----------------------------------------------------------------------

    def run_cell(self, index: int, timeout: float | None = None) -> RunResult:
        """Run one cell with a timeout; its outputs go into the notebook.

        A cell past its timeout is interrupted (status ``timeout``); if it does not stop within
        the launch's ``interrupt_grace`` the kernel is restarted. A kernel that dies is restarted
        (status ``kernel_died``). Call :meth:`RunResult.raise_for_status` for typed errors.
        """
        with self._lock:
            node = self.notebook.node(index)
            if node.cell_type != "code":
                return RunResult(index=index, status=RunStatus.OK)
            self._start()
            return self._run(node, self._timeout(timeout))

    def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        """Append a code cell with ``source`` and run it."""
        with self._lock:
            return self.run_cell(self.append_cell(source), timeout)

    def run_all(self, *, restart: bool = False, timeout: float | None = None) -> list[RunResult]:
        """Run every code cell after the init cell in order; stop at the first that fails."""
        with self._lock:
            return self._run_all(restart, timeout)

    def _run_all(self, restart: bool, timeout: float | None) -> list[RunResult]:
        if restart:
            self._restart()
        else:
            self._start()
        results: list[RunResult] = []
        for node in self._code_nodes_after_init():
            result = self._run(node, self._timeout(timeout))
            results.append(result)
            if not result.ok:
                break
        return results

    def _run(self, node: Node, timeout: float | None) -> RunResult:
        # Restored, not cleared: a run that restarts the kernel runs the init cell inside it.
        previous, self._running = self._running, node
        try:
            return self._execute(node, timeout)
        finally:
            self._running = previous

    def _execute(self, node: Node, timeout: float | None) -> RunResult:
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
                msg = kc.get_iopub_msg(timeout=max(wait, 0.001))
            except queue.Empty:
                if not kernel.is_alive():
                    status, restarted = RunStatus.KERNEL_DIED, True
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    if interrupted:
                        status, restarted = RunStatus.TIMEOUT, True
                        break
                    kernel.interrupt()
                    interrupted = True
                    deadline = time.monotonic() + self.launch.interrupt_grace
                continue
            collector.feed(msg)
        if restarted:
            result = self._record(node, collector, status, restarted=True, started=started)
            self._restart_kernel(kernel)
            if node is not self._init_node():
                self._run_init()
            return result
        self._drain_reply(kc, msg_id)
        if interrupted:
            status = RunStatus.TIMEOUT
        elif collector.raised:
            status = RunStatus.ERROR
        return self._record(node, collector, status, restarted=False, started=started)

    @staticmethod
    def _drain_reply(kc: BlockingKernelClient, msg_id: str) -> None:
        # The shell reply carries nothing the IOPub messages did not; reading it keeps the shell
        # queue from filling with stale replies.
        deadline = time.monotonic() + _REPLY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                reply = kc.get_shell_msg(timeout=_REPLY_TIMEOUT)
            except queue.Empty:
                return
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return
