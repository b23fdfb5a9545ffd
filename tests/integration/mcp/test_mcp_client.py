"""The MCP client against real MCP servers written with the SDK (tests/support/mcp_servers.py),
over stdio and streamable HTTP on 127.0.0.1: tools listed and offered like local tools
(namespaced on a clash), results converted, and every failure — a hang, a crash, an error
result, a program that is no MCP server — an error result for the model and a log line for the
user, never a hung or crashed agent call."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from lllm_adapters.mcp import MCPClient, MCPToolResult
from lllm_domain import Agent, MCPServerConfig, Prompt
from lllm_domain.errors import MCPServerError
from lllm_domain.message import FunctionCall
from lllm_domain.testing import ScriptedCaller, call, tool_calls

from tests.support.mcp_servers import ROOT, HttpServer, stdio_config

pytestmark = pytest.mark.slow

HANG_TIMEOUT = 1.0
GUARD = 30.0
"""Far above any expected duration: a call that takes this long counts as hung."""


@pytest.fixture(scope="module")
def http_servers() -> Iterator[dict[str, HttpServer]]:
    servers = {kind: HttpServer(kind) for kind in ("good", "sleepy", "failing")}
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module", params=["stdio", "http"])
def client(
    request: pytest.FixtureRequest, http_servers: dict[str, HttpServer]
) -> Iterator[MCPClient]:
    """good, sleepy (1 s timeout) and failing, over one transport, opened once per module."""
    settings = {"good": {}, "sleepy": {"timeout": HANG_TIMEOUT}, "failing": {}}
    if request.param == "stdio":
        configs = {kind: stdio_config(kind, **s) for kind, s in settings.items()}
    else:
        configs = {kind: http_servers[kind].config(**s) for kind, s in settings.items()}
    with MCPClient(configs) as opened:
        assert opened.start() == {}
        yield opened


def _functions(client: MCPClient, server: str) -> dict[str, object]:
    return {f.name: f for f in client.source(server).functions()}


def _run(client: MCPClient, server: str, tool: str, **arguments: object) -> FunctionCall:
    function = _functions(client, server)[tool]
    return function.invoke(FunctionCall("call-1", tool, arguments))  # type: ignore[attr-defined,no-any-return]


def test_tools_are_listed_with_their_schemas(client: MCPClient) -> None:
    functions = client.source("good").functions()
    by_name = {f.name: f for f in functions}
    assert set(by_name) == {"add", "echo", "picture", "weather", "pid", "shift", "notes"}
    add = by_name["add"]
    assert add.description == "Add two integers."
    assert add.required == ("a", "b")
    assert add.json_schema()["properties"]["a"]["type"] == "integer"
    # Listed once per session: asking again is the same tuple, with no request.
    assert client.source("good").functions() is functions


def test_results_become_tool_results(client: MCPClient) -> None:
    assert _run(client, "good", "add", a=2, b=3).result_text == "5"

    picture = _run(client, "good", "picture")
    assert picture.result_text == "a red pixel\n\n[image image/png, 70 bytes]"
    assert isinstance(picture.result, MCPToolResult)
    assert picture.result.images[0].mime_type == "image/png"

    weather = _run(client, "good", "weather", city="Oslo")
    assert isinstance(weather.result, MCPToolResult)
    assert weather.result.structured == {"city": "Oslo", "celsius": 21}
    assert '"celsius": 21' in (weather.result_text or "")

    assert _run(client, "good", "notes").result_text == "buy milk"

    # A pydantic argument: the schema's $defs are inlined, so the model sees no dangling $ref.
    shift = _functions(client, "good")["shift"]
    assert "$ref" not in repr(shift.json_schema())  # type: ignore[attr-defined]
    moved = _run(client, "good", "shift", point={"x": 1, "y": 2}, dx=0.5)
    assert moved.result_text == "(1.5, 2.0)"


def test_an_error_result_is_an_error_for_the_model_and_a_log_line(client: MCPClient) -> None:
    with structlog.testing.capture_logs() as logs:
        failed = _run(client, "failing", "fail", reason="disk full")
    assert not failed.success
    assert "reported an error" in (failed.error or "")
    assert "cannot do it: disk full" in (failed.error or "")
    assert any(e["event"] == "mcp.tool_error" and e["server"] == "failing" for e in logs)
    # Invalid arguments never reach the server: the schema check answers the model.
    bad = _run(client, "good", "add", a="two", b=3)
    assert "must be of type integer" in (bad.error or "")


def test_a_hanging_call_is_cancelled_at_its_timeout_and_the_server_reopened(
    client: MCPClient,
) -> None:
    opened = client.connection("sleepy").opened
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        hung = _run(client, "sleepy", "wait")
    elapsed = time.monotonic() - started
    assert elapsed < GUARD
    assert f"did not answer within {HANG_TIMEOUT:g} s" in (hung.error or "")
    assert any(e["event"] == "mcp.call_failed" and e["tool"] == "wait" for e in logs)
    # The next call gets a fresh session and works.
    assert _run(client, "sleepy", "echo", text="back").result_text == "back"
    assert client.connection("sleepy").opened == opened + 1


def test_async_calls_share_the_sessions_and_time_out_too(client: MCPClient) -> None:
    async def main() -> tuple[FunctionCall, FunctionCall]:
        good = {f.name: f for f in await client.source("good").afunctions()}
        sleepy = {f.name: f for f in await client.source("sleepy").afunctions()}
        return await asyncio.gather(
            good["add"].ainvoke(FunctionCall("a", "add", {"a": 20, "b": 22})),
            sleepy["wait"].ainvoke(FunctionCall("b", "wait", {})),
        )

    added, hung = asyncio.run(asyncio.wait_for(main(), GUARD))
    assert added.result_text == "42"
    assert "did not answer" in (hung.error or "")


def test_an_agent_offers_the_tools_namespaced_on_a_clash_sync_and_async(
    client: MCPClient,
) -> None:
    prompt = Prompt("task", "Use the tools.", tool_sources=client.sources)
    script = [
        tool_calls(call("add", a=1, b=2), call("good__echo", text="hi"), call("wait")),
        "done",
    ]
    model = ScriptedCaller(list(script))
    agent = Agent("mcp-user", "You use tools.", model="scripted", caller=model)

    result = agent.call(agent.init_dialog(), prompt)

    offered = sorted(f.name for f in model.requests[0].tools)
    # Both good and sleepy offer "echo": each becomes server__echo; the rest keep their names.
    assert "good__echo" in offered and "sleepy__echo" in offered and "echo" not in offered
    assert {"add", "wait", "fail", "picture"} <= set(offered)
    calls = {c.name: c for c in result.function_calls}
    assert calls["add"].result_text == "3"
    assert calls["good__echo"].result_text == "hi"
    assert "did not answer" in (calls["wait"].error or "")  # an error result, not a crash
    assert result.content == "done"
    # The dialog keeps the prompt as written: the next call draws the tools afresh.
    assert result.dialog.top_prompt is prompt

    amodel = ScriptedCaller(list(script))
    aagent = Agent("mcp-user", "You use tools.", model="scripted", caller=amodel)
    aresult = asyncio.run(asyncio.wait_for(aagent.acall(aagent.init_dialog(), prompt), GUARD))
    assert sorted(f.name for f in amodel.requests[0].tools) == offered
    acalls = {c.name: c for c in aresult.function_calls}
    assert acalls["add"].result_text == "3"
    assert "did not answer" in (acalls["wait"].error or "")


def test_a_crashed_stdio_server_is_restarted_for_the_next_call() -> None:
    with MCPClient({"crashy": stdio_config("crashy")}) as client:
        first = _run(client, "crashy", "pid").result_text
        with structlog.testing.capture_logs() as logs:
            crashed = _run(client, "crashy", "crash")
        assert "connection closed" in (crashed.error or "")
        assert any(e["event"] == "mcp.call_failed" for e in logs)
        second = _run(client, "crashy", "pid").result_text
        assert first and second and first != second
        assert client.connection("crashy").opened == 2


def test_a_crashed_http_server_gives_error_results_not_a_hang() -> None:
    with HttpServer("crashy") as server, MCPClient({"crashy": server.config(timeout=5)}) as client:
        assert (_run(client, "crashy", "pid").result_text or "").isdigit()
        started = time.monotonic()
        crashed = _run(client, "crashy", "crash")
        assert crashed.error is not None
        gone = _run(client, "crashy", "pid")  # the server is gone: reopening fails
        assert gone.error is not None and "could not be opened" in gone.error
        assert time.monotonic() - started < GUARD


def test_a_program_that_is_no_mcp_server_offers_no_tools_and_a_log_line(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    program = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "print('hello, not json-rpc', flush=True); time.sleep(60)"
    )
    garbage = MCPServerConfig(command=sys.executable, args=("-c", program), connect_timeout=2.0)
    with MCPClient({"garbage": garbage}) as client:
        started = time.monotonic()
        with structlog.testing.capture_logs() as logs:
            assert client.source("garbage").functions() == ()
        assert time.monotonic() - started < GUARD
        assert any(e["event"] == "mcp.server_unavailable" for e in logs)
        assert _wait_dead(int(pid_file.read_text()))  # the failed start left no process
        with pytest.raises(MCPServerError, match="garbage"):
            client.call_tool("garbage", "anything", {})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state in /proc says it has exited.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_close_ends_the_stdio_servers() -> None:
    client = MCPClient({"good": stdio_config("good")})
    pid = int(_run(client, "good", "pid").result_text or "0")
    assert _alive(pid)
    client.close()
    assert _wait_dead(pid)
    with pytest.raises(MCPServerError, match="closed"):
        client.call_tool("good", "pid", {})


def test_no_orphan_processes_when_a_program_exits_without_closing() -> None:
    script = textwrap.dedent(
        """
        from lllm_adapters.mcp import MCPClient
        from tests.support.mcp_servers import stdio_config

        client = MCPClient({"good": stdio_config("good")})
        print(client.call_tool("good", "pid", {}).text, flush=True)
        # no close(): the client closes at interpreter exit
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip().splitlines()[-1])
    assert _wait_dead(pid)


def test_header_and_environment_secrets_stay_out_of_errors_and_logs() -> None:
    secret = "SECRET-token-0123456789"
    dead = MCPServerConfig(
        url="http://127.0.0.1:9/mcp", headers={"Authorization": f"Bearer {secret}"}
    )
    good = stdio_config("good", env={"API_TOKEN": secret})
    with MCPClient({"dead": dead, "good": good}) as client:
        with structlog.testing.capture_logs() as logs:
            assert client.source("dead").functions() == ()
            with pytest.raises(MCPServerError) as caught:
                client.call_tool("dead", "anything", {})
            assert _run(client, "good", "echo", text="ok").result_text == "ok"
        assert secret not in str(caught.value)
        assert secret not in repr(logs)
        assert secret not in repr(client.connection("dead").config)
