"""Real MCP servers for the MCP client tests and bench, written with the official SDK.

Run one as a program: ``python -m tests.support.mcp_servers KIND [--http PORT]`` where KIND is

- ``good``: ``add``, ``echo``, ``picture`` (an image), ``weather`` (structured content), ``pid``
  (the server's process id, to see a restart), ``shift`` (a schema with ``$defs``) and ``notes``
  (an embedded resource);
- ``sleepy``: ``wait`` sleeps forever (a hung server);
- ``crashy``: ``crash`` exits the server process mid-call (a crashed server), ``pid`` as above;
- ``failing``: ``fail`` returns an error result (``isError``); ``garbage`` writes a line that is
  not JSON-RPC to stdout before answering (stdio only).

Without ``--http`` the server speaks stdio; with it, streamable HTTP on 127.0.0.1:PORT/mcp.
:func:`stdio_config` and :class:`HttpServer` declare / start them for tests and benchmarks.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from lllm_domain.config import MCPServerConfig
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import EmbeddedResource, ImageContent, TextContent, TextResourceContents
from pydantic import BaseModel


class Point(BaseModel):
    """A point in the plane."""

    x: float
    y: float


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
    def shift(point: Point, dx: float) -> str:
        """Move a point right by dx (its schema has $defs)."""
        return f"({point.x + dx}, {point.y})"

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
    async def wait() -> str:
        """Sleep forever (cancelled when the server shuts down, so it can exit)."""
        await anyio.sleep_forever()
        return "never"

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


# -- launching them from tests and benchmarks ------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
"""The workspace root (where ``python -m tests.support.mcp_servers`` finds the module)."""


def stdio_config(kind: str, **settings: Any) -> MCPServerConfig:
    """A declaration of server ``kind`` over stdio (``settings``: timeouts, tools, ...)."""
    return MCPServerConfig(
        command=sys.executable,
        args=("-m", "tests.support.mcp_servers", kind),
        cwd=str(ROOT),
        **settings,
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class HttpServer:
    """Server ``kind`` over streamable HTTP in a subprocess on 127.0.0.1 (``url``); ``stop``
    ends it (also when it already exited, e.g. the crashy one after ``crash``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> HttpServer:
        """Start the process and wait until it listens."""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.mcp_servers",
                self.kind,
                "--http",
                str(self.port),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"MCP test server {self.kind!r} did not listen") from None
                time.sleep(0.05)

    def config(self, **settings: Any) -> MCPServerConfig:
        """A declaration of this server."""
        return MCPServerConfig(url=self.url, **settings)

    def stop(self) -> None:
        """End the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:  # uvicorn waits for a hung call's thread
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    main()
