"""The loop thread an MCP client owns: blocking and awaitable runs, deadlines that cancel the
work, and a close that stops the thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from lllm_adapters.mcp.loop import LoopThread
from lllm_domain.errors import MCPServerError


async def _answer(value: int, delay: float = 0.0) -> int:
    await asyncio.sleep(delay)
    return value


def test_run_and_arun_use_one_background_loop() -> None:
    loop = LoopThread("test-loop")
    try:
        assert loop.run(_answer(1), timeout=5) == 1

        async def from_another_loop() -> int:
            return await loop.arun(_answer(2))

        assert asyncio.run(from_another_loop()) == 2
        assert loop.loop is loop.loop
    finally:
        loop.close()


def test_a_deadline_cancels_the_work() -> None:
    loop = LoopThread("test-loop")
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    try:
        with pytest.raises(TimeoutError):
            loop.run(forever(), timeout=0.1)
        assert cancelled.wait(5)
    finally:
        loop.close()


def test_cancelling_an_await_cancels_the_work() -> None:
    loop = LoopThread("test-loop")
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def caller() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(loop.arun(forever()), 0.1)

    try:
        asyncio.run(caller())
        assert cancelled.wait(5)
    finally:
        loop.close()


def test_close_stops_the_thread_and_refuses_more_work() -> None:
    loop = LoopThread("test-loop-close")
    loop.run(_answer(1), timeout=5)
    assert any(t.name == "test-loop-close" for t in threading.enumerate())
    loop.close()
    loop.close()  # idempotent
    assert not any(t.name == "test-loop-close" for t in threading.enumerate())
    with pytest.raises(MCPServerError, match="closed"):
        loop.run(_answer(1), timeout=5)


def test_blocking_from_the_loop_thread_is_refused() -> None:
    loop = LoopThread("test-loop")

    async def reenter() -> None:
        loop.run(_answer(1), timeout=1)

    try:
        with pytest.raises(MCPServerError, match="own loop thread"):
            loop.run(reenter(), timeout=5)
    finally:
        loop.close()
