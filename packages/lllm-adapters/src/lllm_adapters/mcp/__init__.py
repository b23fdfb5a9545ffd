"""MCP: declared MCP servers (stdio or streamable HTTP) as tool sources for agents
(:class:`MCPClient`), and LLLM's proxies and sandbox served as MCP tools
(:func:`~lllm_adapters.mcp.server.build_server`, behind ``lllm mcp serve``).

Needs the ``mcp`` extra: ``pip install "lllm-adapters[mcp]"``."""

from lllm_adapters.extras import requires_extra

with requires_extra("mcp", "lllm_adapters.mcp"):
    from lllm_adapters.mcp.client import MCPClient, MCPToolSource
    from lllm_adapters.mcp.results import MCPToolResult, convert_result

__all__ = ["MCPClient", "MCPToolResult", "MCPToolSource", "convert_result"]
