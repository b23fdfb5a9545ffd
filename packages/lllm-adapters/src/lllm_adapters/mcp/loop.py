"""The event loop an MCP client owns, on a thread of its own.

The MCP SDK is async (anyio) and a session lives on the loop that opened it: its reader task and
its cancel scopes stay there. One client therefore keeps one loop on one daemon thread for all its
sessions, so a sync agent call (no loop of its own), an async one (on the caller's loop) and the
next call (perhaps on another loop) all reach the same open sessions. Work goes in with
:meth:`LoopThread.run` (blocking, with a deadline) or :meth:`LoopThread.arun` (awaitable; a
cancelled await cancels the work on the owner loop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from lllm_domain.errors import MCPServerError

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running on a daemon thread, started on first use and stopped by
    :meth:`close` (idempotent)."""

    def __init__(self, name: str = "lllm-mcp") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started now if needed)."""
        with self._lock:
            if self._closed:
                raise MCPServerError(f"the MCP client's loop thread {self._name!r} is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=serve, name=self._name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def in_loop_thread(self) -> bool:
        """Whether the current thread is the loop's own (where blocking on it would deadlock)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``work`` on the loop; its future."""
        try:
            loop = self.loop
        except MCPServerError:
            work.close()
            raise
        return asyncio.run_coroutine_threadsafe(work, loop)

    def run(self, work: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``work`` on the loop and wait for its result, at most ``timeout`` seconds (then
        the work is cancelled and :class:`TimeoutError` raised)."""
        if self.in_loop_thread():
            work.close()
            raise MCPServerError(
                "a blocking MCP call was made from the MCP client's own loop thread; await "
                "the async form instead"
            )
        future = self.submit(work)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout} s") from None

    async def arun(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` run on the loop (from any other loop); cancelling the await cancels
        the work."""
        return await asyncio.wrap_future(self.submit(work))

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop and join its thread. Tasks still pending are cancelled."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def cancel_rest() -> None:
            current = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        if thread is not threading.current_thread():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(cancel_rest(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()
        else:  # pragma: no cover - closing from inside the loop: stop it after this task
            loop.call_soon(loop.stop)
