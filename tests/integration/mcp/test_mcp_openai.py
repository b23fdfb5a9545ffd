"""MCP tools through the OpenAI callers (Chat Completions and Responses, sync and async) against
the local OpenAI-compatible server: the tool is sent with its schema like a local tool, and the
real MCP server's result goes back to the model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from lllm_adapters.mcp import MCPClient
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller, OpenAISettings
from lllm_domain import Agent, Prompt

from tests.support.mcp_servers import stdio_config
from tests.support.openai_server import (
    OpenAIServer,
    RecordedRequest,
    chat_completion,
    response_object,
)

pytestmark = pytest.mark.slow


def _model(request: RecordedRequest) -> dict[str, Any]:
    """Call ``add`` first; once its output is in the conversation, answer with it."""
    body = request.json
    if request.is_responses:
        outputs = [i["output"] for i in body["input"] if i.get("type") == "function_call_output"]
        if outputs:
            return response_object(f"sum={outputs[-1]}")
        return response_object(None, tool_calls=[("call_1", "add", '{"a": 40, "b": 2}')])
    last = body["messages"][-1]
    if last["role"] == "tool":
        return chat_completion(f"sum={last['content']}")
    return chat_completion(None, tool_calls=[("call_1", "add", '{"a": 40, "b": 2}')])


@pytest.fixture(scope="module")
def mcp() -> Iterator[MCPClient]:
    with MCPClient({"calc": stdio_config("good", tools=("add",))}) as client:
        yield client


@pytest.mark.parametrize("api_type", ["completion", "response"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_mcp_tool_goes_through_both_openai_apis(
    mcp: MCPClient, api_type: str, mode: str
) -> None:
    prompt = Prompt("task", "Add 40 and 2.", tool_sources=mcp.sources)
    with OpenAIServer(handler=_model) as server:
        settings = OpenAISettings(api_key="sk-test", base_url=server.url, read_timeout=10.0)
        if mode == "sync":
            caller = OpenAICaller(settings)
            agent = Agent("a", "sys", model="gpt-4o", caller=caller, api_type=api_type)
            result = agent.call(agent.init_dialog(), prompt)
            caller.close()
        else:
            acaller = AsyncOpenAICaller(settings)
            agent = Agent("a", "sys", model="gpt-4o", caller=acaller, api_type=api_type)
            result = asyncio.run(agent.acall(agent.init_dialog(), prompt))
        first = server.requests[0].json
    assert result.content == "sum=42"
    (sent,) = first["tools"]  # only "add": the declaration's tools filter
    if api_type == "response":
        assert sent["name"] == "add"
        schema = sent["parameters"]
    else:
        assert sent["function"]["name"] == "add"
        assert sent["function"]["description"] == "Add two integers."
        schema = sent["function"]["parameters"]
    assert schema["required"] == ["a", "b"]
    assert json.dumps(schema["properties"]["a"]).count("integer") == 1
