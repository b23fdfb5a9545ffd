"""The MCP client: declared MCP servers as tool sources for agents.

::

    from lllm_adapters.mcp import MCPClient
    from lllm_domain import MCPServerConfig

    with MCPClient({"files": MCPServerConfig(command="mcp-files", args=("--root", "."))}) as mcp:
        prompt = Prompt("task", "…", tool_sources=mcp.sources)
        agent.call(dialog, prompt)

Each server's tools are offered to the model like local tools (namespaced ``server__tool`` when
names clash). Every call has the server's ``timeout``; a hang, a crash, a protocol error or an
``isError`` result becomes an error result the model reads and a ``mcp.call_failed`` log line
for the user — an agent call never hangs nor crashes on a server. Sessions are opened on first
use, reused, reopened after a failure (a crashed stdio server is started again) and closed by
:meth:`MCPClient.close` (or at interpreter exit), which ends every server process it started.
"""

from __future__ import annotations

import asyncio
import atexit
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.config import MCPServerConfig
from lllm_domain.errors import ConfigError, MCPServerError
from lllm_domain.function import Function
from mcp_types import Tool

from lllm_adapters.mcp.connection import ServerConnection, _reason
from lllm_adapters.mcp.loop import LoopThread
from lllm_adapters.mcp.results import MCPToolResult, convert_result, result_text
from lllm_adapters.observability.lazy_logger import get_logger

_log = get_logger("lllm.mcp")

GUARD_SECONDS = 5.0
"""Added to a server's own timeouts for the outer wait of a sync call (the inner timeout,
on the client's loop, is the one that fires; this one only guards against a stuck loop)."""

_open_clients: weakref.WeakSet[MCPClient] = weakref.WeakSet()
_exit_hook = threading.Lock()
_exit_hook_installed: list[bool] = []  # registered once, on the first client (no import effect)


def _close_open_clients() -> None:
    for client in list(_open_clients):
        client.close()


def _install_exit_hook() -> None:
    with _exit_hook:
        if not _exit_hook_installed:
            atexit.register(_close_open_clients)
            _exit_hook_installed.append(True)


class MCPClient:
    """Sessions with declared MCP servers, on one loop thread the client owns.

    Args:
        servers: the servers by name (the name is the tools' namespace on a clash).
    """

    def __init__(self, servers: Mapping[str, MCPServerConfig]) -> None:
        for name in servers:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
                raise ConfigError(
                    f"MCP server name {name!r} is invalid: use 1-32 letters, digits, '_' or '-' "
                    "(it prefixes the server's tool names when they clash)"
                )
        self._loop = LoopThread()
        self._connections = {name: ServerConnection(name, c) for name, c in servers.items()}
        self.sources: tuple[MCPToolSource, ...] = tuple(
            MCPToolSource(self, name) for name in servers
        )
        """One tool source per server, in declaration order: give them to a prompt's or an
        agent's ``tool_sources``."""
        self._closed = False
        _open_clients.add(self)
        _install_exit_hook()

    def __repr__(self) -> str:
        return f"MCPClient(servers={list(self._connections)})"

    def source(self, name: str) -> MCPToolSource:
        """The tool source of server ``name``."""
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(
            f"no MCP server named {name!r}; declared: {', '.join(self._connections) or 'none'}"
        )

    def connection(self, name: str) -> ServerConnection:
        """Server ``name``'s connection (its ``opened`` count shows restarts)."""
        self.source(name)
        return self._connections[name]

    # -- listing -----------------------------------------------------------------------------

    def start(self) -> dict[str, str]:
        """Open every server and list its tools, all at once (rather than one by one on the
        first agent call); returns the problems by server name (empty when all answered).
        A server that failed is tried again on first use."""
        connections = list(self._connections.values())

        async def start_all() -> list[BaseException | tuple[Tool, ...]]:
            return await asyncio.gather(*(c.tools() for c in connections), return_exceptions=True)

        limit = 2 * max((c.config.connect_timeout for c in connections), default=0.0)
        outcomes = self._loop.run(start_all(), timeout=limit + GUARD_SECONDS)
        problems = {
            c.name: _reason(o)
            for c, o in zip(connections, outcomes, strict=True)
            if isinstance(o, BaseException)
        }
        for name, problem in problems.items():
            _log.warning("mcp.server_unavailable", server=name, error=problem)
        return problems

    def list_tools(self, server: str) -> tuple[Tool, ...]:
        """Server ``server``'s tools (listed once, then cached); raises
        :class:`MCPServerError` when it cannot be reached."""
        connection = self.connection(server)
        limit = 2 * connection.config.connect_timeout + GUARD_SECONDS
        return self._loop.run(connection.tools(), timeout=limit)

    async def alist_tools(self, server: str) -> tuple[Tool, ...]:
        """The async form of :meth:`list_tools`."""
        return await self._loop.arun(self.connection(server).tools())

    # -- calling -----------------------------------------------------------------------------

    def call_tool(self, server: str, tool: str, arguments: Mapping[str, Any]) -> MCPToolResult:
        """Call ``tool`` of ``server``; raises :class:`MCPServerError` when the call fails,
        hangs past the server's timeout or is refused (an ``isError`` result is returned)."""
        connection = self.connection(server)
        config = connection.config
        limit = config.timeout + config.connect_timeout + GUARD_SECONDS
        try:
            raw = self._loop.run(connection.call(tool, arguments), timeout=limit)
        except TimeoutError:
            raise MCPServerError(
                f"tool {tool!r} of {connection.describe()} did not answer within {limit:g} s"
            ) from None
        return convert_result(raw)

    async def acall_tool(
        self, server: str, tool: str, arguments: Mapping[str, Any]
    ) -> MCPToolResult:
        """The async form of :meth:`call_tool`; cancelling it cancels the call."""
        connection = self.connection(server)
        return convert_result(await self._loop.arun(connection.call(tool, arguments)))

    # -- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every session (ending the stdio servers' processes) and stop the loop thread.
        Idempotent; the client cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        _open_clients.discard(self)
        connections = list(self._connections.values())

        async def close_all() -> None:
            for connection in connections:
                await connection.close()

        try:
            if any(c.is_open for c in connections):
                self._loop.run(close_all(), timeout=30.0)
        except Exception as exc:  # closing must not raise over the error that led here
            _log.warning("mcp.close_failed", error=_reason(exc))
        finally:
            self._loop.close()

    def __enter__(self) -> MCPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


MAX_REF_DEPTH = 32
"""How deep ``$ref`` s are inlined (a recursive schema is cut there, to an open schema)."""


def inline_refs(value: Any, root: Mapping[str, Any], depth: int = 0) -> Any:
    """``value`` with every local ``$ref`` (``#/$defs/X``, ``#/definitions/X``) of ``root``
    replaced by its definition: a tool's ``properties`` travel without the schema's ``$defs``,
    which providers would otherwise find dangling."""
    if isinstance(value, list):
        return [inline_refs(v, root, depth) for v in value]
    if not isinstance(value, Mapping):
        return value
    ref = value.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if depth >= MAX_REF_DEPTH:
            return {}
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        if isinstance(target, Mapping):
            rest = {k: v for k, v in value.items() if k != "$ref"}
            return inline_refs({**target, **rest}, root, depth + 1)
    return {k: inline_refs(v, root, depth) for k, v in value.items()}


class MCPToolSource:
    """One MCP server as a :class:`~lllm_domain.tool_source.ToolSource`."""

    def __init__(self, client: MCPClient, name: str) -> None:
        self._client = client
        self._name = name
        self._sync: tuple[Function, ...] | None = None
        self._async: tuple[Function, ...] | None = None

    @property
    def name(self) -> str:
        """The server's name."""
        return self._name

    def __repr__(self) -> str:
        return f"MCPToolSource({self._name!r})"

    def functions(self) -> Sequence[Function]:
        """The server's tools as Functions a sync agent call runs (none, with a log line, when
        the server cannot be reached; asked again on the next call)."""
        if self._sync is None:
            try:
                tools = self._client.list_tools(self._name)
            except Exception as exc:
                self._unavailable(exc)
                return ()
            self._sync = tuple(self._function(t, asynchronous=False) for t in tools)
        return self._sync

    async def afunctions(self) -> Sequence[Function]:
        """The server's tools as Functions an async agent call awaits."""
        if self._async is None:
            try:
                tools = await self._client.alist_tools(self._name)
            except Exception as exc:
                self._unavailable(exc)
                return ()
            self._async = tuple(self._function(t, asynchronous=True) for t in tools)
        return self._async

    def _unavailable(self, exc: Exception) -> None:
        _log.warning(
            "mcp.server_unavailable",
            server=self._name,
            error=_reason(exc),
            fix="its tools are not offered to this agent call; the next call tries again",
        )

    def _function(self, tool: Tool, *, asynchronous: bool) -> Function:
        client, server, remote = self._client, self._name, tool.name
        schema = tool.input_schema or {}
        properties = inline_refs(schema.get("properties") or {}, schema)
        required = tuple(r for r in schema.get("required") or () if r in properties)
        name = re.sub(r"[^A-Za-z0-9_-]", "_", remote)[:64] or "tool"

        def failed(exc: Exception) -> MCPServerError:
            message = str(exc) if isinstance(exc, MCPServerError) else _reason(exc)
            _log.warning("mcp.call_failed", server=server, tool=remote, error=message)
            return exc if isinstance(exc, MCPServerError) else MCPServerError(message)

        def checked(result: MCPToolResult) -> MCPToolResult:
            if result.is_error:
                _log.warning("mcp.tool_error", server=server, tool=remote, error=result.text)
                raise MCPServerError(
                    f"tool {remote!r} of MCP server {server!r} reported an error: {result.text}"
                )
            return result

        def call(**arguments: Any) -> MCPToolResult:
            try:
                result = client.call_tool(server, remote, arguments)
            except Exception as exc:
                raise failed(exc) from exc
            return checked(result)

        async def acall(**arguments: Any) -> MCPToolResult:
            try:
                result = await client.acall_tool(server, remote, arguments)
            except Exception as exc:
                raise failed(exc) from exc
            return checked(result)

        return Function(
            name=name,
            description=tool.description or tool.title or f"{remote} (MCP server {server})",
            parameters=properties,
            required=required,
            callable=acall if asynchronous else call,
            processor=result_text,
            # A sync call blocks on the client's loop thread: async agent calls get ``acall``.
            blocking=not asynchronous,
        )
