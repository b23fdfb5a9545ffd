"""An MCP tool's images reach the model: a real MCP server's ``picture`` tool (a caption and a
PNG) called through each provider's caller against its local server (Chat Completions,
Responses, Anthropic Messages; sync and async), and the next request carries the PNG in the
shape that API takes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from lllm_adapters.anthropic import AnthropicCaller, AsyncAnthropicCaller
from lllm_adapters.mcp import MCPClient
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller
from lllm_domain import Agent, Prompt

from tests.integration.anthropic.conftest import settings_for as anthropic_settings
from tests.integration.openai.conftest import settings_for as openai_settings
from tests.support.anthropic_server import AnthropicServer, message
from tests.support.mcp_servers import PIXEL_PNG, stdio_config
from tests.support.openai_server import OpenAIServer, chat_completion, response_object

pytestmark = pytest.mark.slow

PNG_URL = f"data:image/png;base64,{PIXEL_PNG}"


@pytest.fixture(scope="module")
def mcp() -> Iterator[MCPClient]:
    with MCPClient({"pics": stdio_config("good", tools=("picture",))}) as client:
        yield client


def _run(provider: str, mode: str, mcp: MCPClient) -> dict[str, Any]:
    """Ask for the picture, answer "seen"; the body of the request after the tool ran."""
    server: Any
    if provider == "anthropic":
        server = AnthropicServer().start()
        server.script(message(None, tool_uses=[("toolu_1", "picture", {})]), message("seen"))
        settings: Any = anthropic_settings(server)
        sync_cls, async_cls, model, api = (
            AnthropicCaller,
            AsyncAnthropicCaller,
            "claude-sonnet-4-5",
            "completion",
        )
    else:
        server = OpenAIServer().start()
        api = provider
        if api == "response":
            server.script(
                response_object(None, tool_calls=[("call_1", "picture", "{}")]),
                response_object("seen"),
            )
        else:
            server.script(
                chat_completion(None, tool_calls=[("call_1", "picture", "{}")]),
                chat_completion("seen"),
            )
        settings = openai_settings(server)
        sync_cls, async_cls, model = OpenAICaller, AsyncOpenAICaller, "gpt-4o"
    prompt = Prompt("look", "Describe the picture.", tool_sources=mcp.sources)
    try:
        caller: Any = sync_cls(settings) if mode == "sync" else async_cls(settings)
        agent = Agent("viewer", "sys", model=model, caller=caller, api_type=api)
        if mode == "sync":
            result = agent.call(agent.init_dialog(), prompt)
            caller.close()
        else:

            async def go() -> Any:
                try:
                    return await agent.acall(agent.init_dialog(), prompt)
                finally:
                    await caller.aclose()

            result = asyncio.run(go())
        assert result.content == "seen"
        assert len(server.requests) == 2
        body: dict[str, Any] = server.requests[1].json
        return body
    finally:
        server.stop()


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
def test_chat_completions_gets_the_image_in_a_user_message_after_the_tool_message(
    mcp: MCPClient, mode: str
) -> None:
    messages = _run("completion", mode, mcp)["messages"]
    assert [m["role"] for m in messages[-3:]] == ["assistant", "tool", "user"]
    tool = messages[-2]
    assert tool["tool_call_id"] == "call_1"
    assert tool["content"].startswith("a red pixel")
    assert messages[-1]["content"] == [
        {"type": "text", "text": "The image returned by tool call call_1 (picture):"},
        {"type": "image_url", "image_url": {"url": PNG_URL}},
    ]


@MODES
def test_responses_gets_the_image_inside_the_function_call_output(
    mcp: MCPClient, mode: str
) -> None:
    items = _run("response", mode, mcp)["input"]
    [output] = [i for i in items if i.get("type") == "function_call_output"]
    assert output["call_id"] == "call_1"
    text, image = output["output"]
    assert text["type"] == "input_text" and text["text"].startswith("a red pixel")
    assert image == {"type": "input_image", "image_url": PNG_URL, "detail": "auto"}


@MODES
def test_anthropic_gets_the_image_inside_the_tool_result(mcp: MCPClient, mode: str) -> None:
    turns = _run("anthropic", mode, mcp)["messages"]
    [result] = [b for b in turns[-1]["content"] if b["type"] == "tool_result"]
    assert result["tool_use_id"] == "toolu_1"
    text, image = result["content"]
    assert text["type"] == "text" and text["text"].startswith("a red pixel")
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL_PNG},
    }
