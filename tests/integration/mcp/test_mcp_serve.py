"""`lllm mcp serve` tested with the MCP SDK's own client, over stdio and streamable HTTP: a
created project's activated proxy (pointed at a local API) is listed with its schema and docs,
its calls go through the cutoff date, and --sandbox adds a working run_python."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.support.cli_runner import clean_env, lllm
from tests.support.proxies_server import FakeApi, serve

pytestmark = pytest.mark.slow

TOOL = "local__prices__quote__history"
SERVE = (sys.executable, "-m", "lllm_cli", "mcp", "serve")

PROXY = '''
from lllm_domain.proxy import Proxy, endpoint


class Prices(Proxy):
    """Daily prices from the test's local API."""

    path = "local/prices"
    base_url = "{base_url}"

    @endpoint(
        "quote",
        "history",
        "Daily closing prices of a symbol.",
        params={{"symbol*": (str, "ACME")}},
        path="history",
        date_field="date",
    )
    def history(self, params):
        return None
'''

ROWS = [
    {"date": "2024-01-02", "close": 10.0},
    {"date": "2024-01-03", "close": 11.0},
    {"date": "2024-01-05", "close": 12.5},
]


@pytest.fixture(scope="module")
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.routes["/history"] = ROWS
    with serve(fake) as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, api: FakeApi) -> Path:
    """A created project whose config activates the local prices proxy with a cutoff date."""
    root = tmp_path_factory.mktemp("mcp-serve")
    created = lllm("create", "demo", cwd=root)
    assert created.returncode == 0, created.stderr
    project = root / "demo"
    (project / "proxies" / "local.py").write_text(PROXY.format(base_url=api.base_url), "utf-8")
    config = project / "config" / "demo" / "default.yaml"
    text = config.read_text("utf-8")
    config.write_text(
        text.replace("activate_proxies: []", "activate_proxies: [local/prices]")
        + "cutoff_date: 2024-01-04\n",
        "utf-8",
    )
    return project


def _env(project: Path) -> dict[str, str]:
    return clean_env({"XDG_CACHE_HOME": str(project / "cache")})


@contextlib.asynccontextmanager
async def _stdio_session(project: Path, *extra: str) -> AsyncIterator[ClientSession]:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "lllm_cli", "mcp", "serve", "--project", str(project), *extra],
        env=_env(project),
        cwd=str(project),
    )
    async with stdio_client(parameters) as streams, ClientSession(*streams) as session:
        await session.initialize()
        yield session


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_url(project: Path) -> Iterator[str]:
    """`lllm mcp serve --transport http` running on a free port of 127.0.0.1."""
    port = _free_port()
    process = subprocess.Popen(
        [*SERVE, "--project", str(project), "--transport", "http", "--port", str(port)],
        cwd=project,
        env=_env(project),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"lllm mcp serve did not listen on {port}: {stderr}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


async def _check_proxy_tool(session: ClientSession, api: FakeApi, symbol: str) -> None:
    # Each transport asks for its own symbol: the proxy cache would answer a repeated request.
    listed = {tool.name: tool for tool in (await session.list_tools()).tools}
    tool = listed[TOOL]
    assert "Daily closing prices of a symbol." in (tool.description or "")
    assert "local/prices/quote/history" in (tool.description or "")
    assert tool.input_schema["required"] == ["symbol"]
    assert tool.input_schema["properties"]["symbol"]["type"] == "string"

    before = api.count("/history")
    result = await session.call_tool(TOOL, {"symbol": symbol})
    assert not result.is_error, result
    rows = json.loads(result.content[0].text)  # type: ignore[union-attr]
    # The cutoff date (2024-01-04) is enforced: the row dated after it never reaches the client.
    assert [row["date"] for row in rows] == ["2024-01-02", "2024-01-03"]
    assert api.count("/history") == before + 1
    assert api.requests[-1]["query"]["symbol"] == symbol

    bad = await session.call_tool(TOOL, {})
    assert bad.is_error
    assert "symbol" in bad.content[0].text  # type: ignore[union-attr]
    unknown = await session.call_tool("no_such_tool", {})
    assert unknown.is_error
    assert TOOL in unknown.content[0].text  # type: ignore[union-attr]


async def test_serve_over_stdio_lists_and_calls_the_proxies_and_run_python(
    project: Path, api: FakeApi
) -> None:
    async with _stdio_session(project, "--sandbox") as session:
        await _check_proxy_tool(session, api, "ACME")
        ran = await session.call_tool("run_python", {"code": "x = 6 * 7\nprint(x)"})
        assert not ran.is_error, ran
        assert "42" in ran.content[0].text  # type: ignore[union-attr]
        again = await session.call_tool("run_python", {"code": "x + 1"})
        assert "43" in again.content[0].text  # type: ignore[union-attr]  # state persists


async def test_serve_over_http_lists_and_calls_the_proxies(
    project: Path, api: FakeApi, http_url: str
) -> None:
    async with streamable_http_client(http_url) as streams, ClientSession(*streams) as session:
        await session.initialize()
        names = [tool.name for tool in (await session.list_tools()).tools]
        assert "run_python" not in names  # only with --sandbox
        await _check_proxy_tool(session, api, "INITECH")


def test_serve_refuses_an_unknown_proxy(project: Path) -> None:
    run = lllm("mcp", "serve", "--proxy", "local/nope", cwd=project, env=_env(project))
    assert run.returncode != 0
    assert "local/nope" in run.stderr and "local/prices" in run.stderr
