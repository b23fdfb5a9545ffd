"""The blocking Jupyter session: the blocking driver of the shared session flows.

Every rule (when the kernel starts, how a cell run ends, when the kernel restarts) is in
:mod:`lllm_adapters.jupyter.kernel_session` and :mod:`lllm_adapters.jupyter.cell_run`; this
module performs their actions with jupyter_client's blocking client.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from jupyter_client.blocking.client import BlockingKernelClient
from lllm_domain.sandbox import RunResult

from lllm_adapters.jupyter import cell_run, kernel_session
from lllm_adapters.jupyter.kernel import LocalKernel, RemoteKernel
from lllm_adapters.jupyter.kernel_session import Flow, KernelAction, KernelSession

T = TypeVar("T")


class JupyterSession(KernelSession[LocalKernel | RemoteKernel, BlockingKernelClient]):
    """A sandbox session on a local (or remote) Jupyter kernel, blocking form.

    Nothing starts when the session is built: the kernel is launched on the first run (or
    :meth:`start`) and the init cell runs right after every start and restart. Use it as a
    context manager, or call :meth:`shutdown`, to stop the kernel.
    """

    def __init__(self, folder: Path, **kwargs: Any) -> None:
        super().__init__(folder, **kwargs)
        # One run at a time: concurrent runs would read each other's kernel messages. Cell edits
        # take it too, so they never move cells under a running one. Reentrant because
        # run_code appends (an edit) and then runs.
        self._lock = threading.RLock()

    def start(self) -> None:
        """Start the kernel and run the init cell, unless already started."""
        self._drive(self._start_flow())

    def restart(self) -> None:
        """Restart the kernel (its state is lost) and re-run the init cell."""
        self._drive(self._restart_flow())

    def interrupt(self) -> None:
        """Interrupt the running cell (safe to call from another thread)."""
        if self._kernel is not None:
            self._kernel.interrupt()

    def shutdown(self) -> None:
        """Stop the kernel (the notebook stays on disk)."""
        kernel, self._kernel, self._client = self._kernel, None, None
        if kernel is not None:
            kernel.shutdown()

    def __enter__(self) -> JupyterSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @contextlib.contextmanager
    def _edit(self) -> Iterator[None]:
        with self._lock:
            yield

    def run_cell(self, index: int, timeout: float | None = None) -> RunResult:
        """Run one cell with a timeout; its outputs go into the notebook.

        A cell past its timeout is interrupted (status ``timeout``); if it does not stop within
        the launch's ``interrupt_grace`` the kernel is restarted. A kernel that dies is restarted
        (status ``kernel_died``). A cell deleted before its run started raises
        :class:`SandboxError`. Call :meth:`RunResult.raise_for_status` for typed errors.
        """
        node = self._code_node(index)
        if node is None:
            return kernel_session.ok_result(index)
        return self._drive(self._run_cell_flow(node, index, timeout))

    def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        """Append a code cell with ``source`` and run it."""
        return self.run_cell(self.append_cell(source), timeout)

    def run_all(self, *, restart: bool = False, timeout: float | None = None) -> list[RunResult]:
        """Run every code cell after the init cell in order; stop at the first that fails."""
        return self._drive(self._run_all_flow(restart, timeout))

    # -- the driver ------------------------------------------------------------------------

    def _drive(self, flow: Flow[T]) -> T:
        """Perform ``flow``'s actions, one run at a time. An action that raises is thrown into
        the flow, so its clean-up (shut down a kernel whose init cell failed, forget one whose
        restart failed) runs before the error reaches the caller."""
        with self._lock:
            outcome: cell_run.Event | None = None
            error: BaseException | None = None
            try:
                while True:
                    action = flow.send(outcome) if error is None else flow.throw(error)
                    error = None
                    try:
                        outcome = self._perform(action)
                    except BaseException as exc:
                        error = exc
            except StopIteration as stop:
                result: T = stop.value
                return result
            finally:
                flow.close()

    def _perform(self, action: KernelAction) -> cell_run.Event | None:
        kc, kernel = self._client, self._kernel
        if isinstance(action, kernel_session.StartKernel):
            new = RemoteKernel(self.launch) if self.launch.remote else self._local_kernel()
            self._client, self._kernel = new.start(), new
            return None
        if isinstance(action, kernel_session.ShutdownKernel):
            self.shutdown()
            return None
        assert kc is not None and kernel is not None
        if isinstance(action, cell_run.Await):
            try:
                return cell_run.Received(kc.get_iopub_msg(timeout=action.timeout), time.monotonic())
            except queue.Empty:
                return cell_run.Quiet(time.monotonic())
        if isinstance(action, cell_run.Execute):
            return cell_run.Executed(kc.execute(action.source, allow_stdin=False), time.monotonic())
        if isinstance(action, cell_run.CheckAlive):
            return cell_run.AliveChecked(kernel.is_alive(), time.monotonic())
        if isinstance(action, cell_run.Interrupt):
            kernel.interrupt()
            return cell_run.Interrupted(time.monotonic())
        if isinstance(action, cell_run.DrainReply):
            self._drain_reply(kc, action.msg_id)
            return cell_run.Drained()
        assert isinstance(action, cell_run.RestartKernel)
        self._client = None
        self._client = kernel.restart()
        return None

    def _local_kernel(self) -> LocalKernel:
        return LocalKernel(self.launch, self.folder, self.redactor)

    @staticmethod
    def _drain_reply(kc: BlockingKernelClient, msg_id: str) -> None:
        deadline = time.monotonic() + kernel_session.REPLY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                reply = kc.get_shell_msg(timeout=kernel_session.REPLY_TIMEOUT)
            except queue.Empty:
                return
            if kernel_session.is_reply(reply, msg_id):
                return
