"""One MCP server's connection: its session, opened once and reused, reopened after a failure.

Everything here runs on the client's loop thread (:mod:`lllm_adapters.mcp.loop`). The session's
transport and :class:`~mcp.ClientSession` are entered and exited by one long-lived *owner* task
(anyio's cancel scopes must be left by the task that entered them); calls from other tasks on the
loop share the open session. A call that fails at the transport level (the server exited, sent
garbage, or did not answer in time) closes the session — a stdio server's process is ended — so
the next call opens a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx2
from lllm_domain.config import MCPServerConfig
from lllm_domain.errors import MCPServerError
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CONNECTION_CLOSED, CallToolResult, PaginatedRequestParams, Tool

from lllm_adapters.observability.lazy_logger import get_logger

_log = get_logger("lllm.mcp")

OWNER_GUARD = 5.0
"""Seconds past ``connect_timeout`` after which an owner task that neither opened the session
nor failed is cancelled."""

MAX_TOOL_PAGES = 100
"""Pages of ``tools/list`` read at most (a server whose cursor never ends cannot hang us)."""


class ServerConnection:
    """The session with one declared MCP server (use only on the client's loop)."""

    def __init__(self, name: str, config: MCPServerConfig) -> None:
        self.name = name
        self.config = config
        self.opened = 0
        """How many sessions were opened (a restart opens one more)."""
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._tools: tuple[Tool, ...] | None = None
        self._closing: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        """Whether a session is open now."""
        return self._session is not None

    def describe(self) -> str:
        """Where the server is, for messages (never headers nor environment values)."""
        config = self.config
        if config.command is not None:
            return f"MCP server {self.name!r} (stdio: {config.command} {' '.join(config.args)})"
        return f"MCP server {self.name!r} ({config.url})"

    async def session(self) -> ClientSession:
        """The open session, opening one if needed (within ``connect_timeout``)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._session is not None:
                return self._session
            if self._closing is not None:  # the last session is still ending: let it finish
                await asyncio.shield(self._closing)
            return await self._open()

    async def _open(self) -> ClientSession:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[ClientSession] = loop.create_future()
        stop = asyncio.Event()
        self._stop = stop
        owner = loop.create_task(self._own(ready, stop), name=f"mcp:{self.name}")
        self._owner = owner
        timeout = self.config.connect_timeout
        try:
            # The owner times the handshake out itself, so the transport is left the normal
            # way (a stdio server is ended); this wait only guards against a stuck owner.
            session = await asyncio.wait_for(asyncio.shield(ready), timeout + OWNER_GUARD)
        except asyncio.CancelledError:
            await self._end(owner, stop)
            raise
        except Exception as exc:
            await self._end(owner, stop)
            if isinstance(_single(exc), TimeoutError):
                raise MCPServerError(
                    f"{self.describe()} did not start and answer the MCP handshake within "
                    f"{timeout:g} s; check the command or URL, or raise connect_timeout"
                ) from None
            raise MCPServerError(
                f"{self.describe()} could not be opened: {_reason(exc)}; check the command or "
                "URL and that the server speaks MCP"
            ) from exc
        self.opened += 1
        if self.opened > 1:
            _log.info("mcp.session_reopened", server=self.name, count=self.opened)
        return session

    async def _own(self, ready: asyncio.Future[ClientSession], stop: asyncio.Event) -> None:
        """Enter the transport and the session, hand the session out, hold it until ``stop``,
        then leave both (ending a stdio server's process)."""
        try:
            async with AsyncExitStack() as stack:
                streams = await stack.enter_async_context(self._transport(stack))
                session = await stack.enter_async_context(ClientSession(*streams))
                with anyio.fail_after(self.config.connect_timeout):
                    await session.initialize()
                self._session = session
                if not ready.done():
                    ready.set_result(session)
                await stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:  # the session was lost while open; the next call reopens it
                _log.warning("mcp.session_lost", server=self.name, error=_reason(exc))
        finally:
            self._session = None

    def _transport(self, stack: AsyncExitStack) -> contextlib.AbstractAsyncContextManager[Any]:
        config = self.config
        if config.command is not None:
            parameters = StdioServerParameters(
                command=config.command,
                args=list(config.args),
                env=dict(config.env) or None,
                cwd=config.cwd,
            )
            return stdio_client(parameters)
        assert config.url is not None
        client = httpx2.AsyncClient(
            headers=dict(config.headers),
            timeout=httpx2.Timeout(config.connect_timeout, read=None),
        )
        stack.push_async_callback(client.aclose)
        return streamable_http_client(config.url, http_client=client)

    async def _end(self, owner: asyncio.Task[None], stop: asyncio.Event) -> None:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(owner), 5.0)
        except (TimeoutError, asyncio.CancelledError):
            owner.cancel()
            with contextlib.suppress(BaseException):
                await owner
        except Exception:  # the owner's own failure was handed to whoever waited on it
            pass
        if self._owner is owner:
            self._owner = None
            self._session = None

    async def close(self) -> None:
        """Close the session (and end a stdio server's process); a later call reopens it."""
        self.discard()
        if self._closing is not None:
            await asyncio.shield(self._closing)

    def discard(self) -> None:
        """Drop the session now and end it in the background (a stdio server gets a moment to
        exit before it is terminated): a failed call returns at once, and the next call's
        :meth:`session` waits for the ending before it opens a new session."""
        owner, stop = self._owner, self._stop
        self._session = None
        if owner is None or stop is None:
            return
        self._owner = None
        closing = asyncio.get_running_loop().create_task(self._end(owner, stop))
        self._closing = closing

        def done(task: asyncio.Task[None]) -> None:
            if self._closing is task:
                self._closing = None

        closing.add_done_callback(done)

    async def tools(self) -> tuple[Tool, ...]:
        """The server's tools (listed once, then cached), filtered by the config's ``tools``."""
        if self._tools is None:
            session = await self.session()
            listed: list[Tool] = []
            cursor: str | None = None
            async with asyncio.timeout(self.config.connect_timeout):
                for _ in range(MAX_TOOL_PAGES):
                    params = PaginatedRequestParams(cursor=cursor) if cursor else None
                    page = await session.list_tools(params=params)
                    listed.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
            wanted = set(self.config.tools)
            self._tools = tuple(t for t in listed if not wanted or t.name in wanted)
        return self._tools

    async def call(self, tool: str, arguments: Mapping[str, Any]) -> CallToolResult:
        """Call ``tool``; a transport failure or a call past ``timeout`` closes the session
        (the next call reopens it) and raises :class:`MCPServerError`."""
        started = time.monotonic()
        timeout = self.config.timeout
        session = await self.session()
        try:
            async with asyncio.timeout(timeout):
                return await session.call_tool(tool, dict(arguments))
        except TimeoutError:
            self.discard()
            raise MCPServerError(
                f"tool {tool!r} of {self.describe()} did not answer within {timeout:g} s; the "
                "call was cancelled and the session closed (the next call reopens it)"
            ) from None
        except MCPServerError:
            raise
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:  # the server answered with a protocol error
                raise MCPServerError(
                    f"tool {tool!r} of {self.describe()} answered with error {exc.code}: "
                    f"{exc.message}"
                ) from exc
            self.discard()
            raise MCPServerError(
                f"tool {tool!r} of {self.describe()} failed: the connection closed (the server "
                "exited or broke the protocol); the next call reopens it"
            ) from exc
        except Exception as exc:
            self.discard()
            elapsed = time.monotonic() - started
            raise MCPServerError(
                f"tool {tool!r} of {self.describe()} failed after {elapsed:.2f} s: "
                f"{_reason(exc)}; the session was closed (the next call reopens it)"
            ) from exc


def _single(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups (anyio's task groups
    wrap what their tasks raise)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _reason(exc: BaseException) -> str:
    """A one-line reason, looking inside exception groups."""
    exc = _single(exc)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
