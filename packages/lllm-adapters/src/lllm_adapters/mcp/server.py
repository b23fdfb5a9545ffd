"""LLLM tools served over MCP: any :class:`~lllm_domain.function.Function` (the activated
proxies' endpoints, the sandbox's ``run_python``) as an MCP tool, over stdio or streamable HTTP.

The tools keep their own guarantees: a proxy endpoint's runtime enforces the cutoff date on
every call, and a Function never raises (a failure is an ``isError`` result naming what went
wrong). Blocking tools run in worker threads, so one slow call does not hold up the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal

import anyio
from lllm_domain.errors import ConfigError
from lllm_domain.function import Function
from lllm_domain.message import FunctionCall
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)

Transport = Literal["stdio", "http"]

_ids = itertools.count(1)


def tool_of(function: Function) -> Tool:
    """``function`` as an MCP tool description (its name, docs and JSON schema)."""
    return Tool(
        name=function.name,
        description=function.description or None,
        input_schema=function.json_schema(),
    )


async def run_function(function: Function, arguments: dict[str, Any]) -> CallToolResult:
    """Run ``function`` with ``arguments`` as an MCP tool call: its result text, or its error
    text with ``isError`` set."""
    call = FunctionCall(f"mcp-{next(_ids)}", function.name, arguments)
    done = await function.ainvoke(call)
    if done.error is not None:
        return CallToolResult(content=[TextContent(text=done.error)], is_error=True)
    structured = done.result if isinstance(done.result, dict) else None
    return CallToolResult(
        content=[TextContent(text=done.result_text or "")], structured_content=structured
    )


def build_server(
    functions: Sequence[Function], *, name: str = "lllm", instructions: str | None = None
) -> Server[Any]:
    """A low-level MCP server offering ``functions`` as tools."""
    by_name: dict[str, Function] = {}
    for function in functions:
        if function.name in by_name:
            raise ConfigError(
                f"two tools to serve over MCP are named {function.name!r}; rename one"
            )
        by_name[function.name] = function
    tools = [tool_of(f) for f in functions]

    async def list_tools(_ctx: Any, _params: PaginatedRequestParams | None) -> ListToolsResult:
        return ListToolsResult(tools=tools)

    async def call_tool(_ctx: Any, params: CallToolRequestParams) -> CallToolResult:
        function = by_name.get(params.name)
        if function is None:
            known = ", ".join(by_name) or "none"
            return CallToolResult(
                content=[TextContent(text=f"no tool named {params.name!r}; tools: {known}")],
                is_error=True,
            )
        return await run_function(function, dict(params.arguments or {}))

    return Server(
        name,
        instructions=instructions,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(server: Server[Any]) -> None:
    """Serve ``server`` on this process's stdin/stdout until the client closes them."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(
    server: Server[Any], *, host: str = "127.0.0.1", port: int = 8000, path: str = "/mcp"
) -> None:
    """Serve ``server`` over streamable HTTP at ``http://host:port/path`` until cancelled."""
    import uvicorn

    app = server.streamable_http_app(streamable_http_path=path, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    await uvicorn.Server(config).serve()


def serve(
    server: Server[Any],
    transport: Transport = "stdio",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
) -> None:
    """Serve ``server`` over ``transport`` (blocking until the client or a signal stops it)."""
    if transport == "stdio":
        anyio.run(serve_stdio, server)
    elif transport == "http":
        anyio.run(lambda: serve_http(server, host=host, port=port, path=path))
    else:
        raise ConfigError(f"MCP transport must be 'stdio' or 'http', not {transport!r}")
