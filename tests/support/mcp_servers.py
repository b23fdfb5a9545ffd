"""Real MCP servers for the MCP client tests and bench, written with the official SDK.

Run one as a program: ``python -m tests.support.mcp_servers KIND [--http PORT]`` where KIND is

- ``good``: ``add``, ``echo``, ``picture`` (an image), ``weather`` (structured content), ``pid``
  (the server's process id, to see a restart) and ``notes`` (text and an embedded resource);
- ``sleepy``: ``wait`` sleeps forever (a hung server);
- ``crashy``: ``crash`` exits the server process mid-call (a crashed server), ``pid`` as above;
- ``failing``: ``fail`` returns an error result (``isError``); ``garbage`` writes a line that is
  not JSON-RPC to stdout before answering (stdio only).

Without ``--http`` the server speaks stdio; with it, streamable HTTP on 127.0.0.1:PORT/mcp.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import EmbeddedResource, ImageContent, TextContent, TextResourceContents

PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAA"
    "AABJRU5ErkJggg=="
)
"""A 1x1 PNG, base64."""


def good() -> MCPServer:
    """The well-behaved server."""
    server = MCPServer("good")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def picture() -> list[Any]:
        """A tiny picture with a caption."""
        return [
            TextContent(text="a red pixel"),
            ImageContent(data=PIXEL_PNG, mime_type="image/png"),
        ]

    @server.tool()
    def weather(city: str) -> dict[str, Any]:
        """The weather in a city, as structured content."""
        return {"city": city, "celsius": 21}

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def notes() -> list[Any]:
        """A note as an embedded text resource."""
        return [
            EmbeddedResource(
                resource=TextResourceContents(
                    uri="memo://1", text="buy milk", mime_type="text/plain"
                )
            )
        ]

    return server


def sleepy() -> MCPServer:
    """A server whose tool never answers."""
    server = MCPServer("sleepy")

    @server.tool()
    def wait() -> str:
        """Sleep forever."""
        while True:
            time.sleep(3600)

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    return server


def crashy() -> MCPServer:
    """A server that dies in the middle of a call."""
    server = MCPServer("crashy")

    @server.tool()
    def crash() -> str:
        """Exit the server process without answering."""
        os._exit(3)

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    return server


def failing() -> MCPServer:
    """A server whose tool reports an error, and one that sends garbage."""
    server = MCPServer("failing")

    @server.tool()
    def fail(reason: str = "disk full") -> str:
        """Always fails."""
        raise ToolError(f"cannot do it: {reason}")

    @server.tool()
    def garbage() -> str:
        """Write a line that is not JSON-RPC to stdout, then answer."""
        sys.stdout.write("this is not json-rpc\n")
        sys.stdout.flush()
        return "sent garbage"

    return server


SERVERS = {"good": good, "sleepy": sleepy, "crashy": crashy, "failing": failing}


def main(argv: list[str] | None = None) -> None:
    """Run the server named on the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=sorted(SERVERS))
    parser.add_argument("--http", type=int, default=None, help="serve on 127.0.0.1:PORT/mcp")
    options = parser.parse_args(argv)
    server = SERVERS[options.kind]()
    if options.http is None:
        server.run("stdio")
    else:
        server.settings.log_level = "WARNING"
        server.run("streamable-http", host="127.0.0.1", port=options.http)


if __name__ == "__main__":
    main()
