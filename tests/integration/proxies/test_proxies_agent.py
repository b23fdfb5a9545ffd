"""An agent calls a proxy endpoint as a tool (scripted model, real local HTTP API)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings
from lllm_domain import Agent, Prompt
from lllm_domain.message import Role
from lllm_domain.registry import ProxyRegistry
from lllm_domain.request import LLMRequest
from lllm_domain.testing import FakeClock, ScriptedCaller, call, tool_calls

from tests.integration.proxies.test_proxies_http import PRICES, SECRET, MarketProxy
from tests.support.proxies_server import FakeApi, serve

PATH = "finance/market/quote/history"
TOOL = "finance__market__quote__history"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.routes["/history"] = PRICES
    with serve(fake) as running:
        yield running


def test_agent_calls_a_proxy_endpoint_through_the_scripted_caller(
    api: FakeApi, tmp_path: Path
) -> None:
    registry = ProxyRegistry()
    registry.register("finance/market", MarketProxy)
    settings = ProxySettings(
        cutoff_date=dt.date(2024, 1, 4),
        cache_dir=str(tmp_path / "cache"),
        base_urls={"finance/market": api.base_url},
    )
    seen: list[str] = []

    def answer(request: LLMRequest) -> str:
        # The second request carries the tool result: the model "reads" it and answers.
        tool_message = request.messages[-1]
        assert tool_message.role is Role.TOOL
        seen.append(tool_message.content)
        closes = [row["close"] for row in json.loads(tool_message.content)]
        return f"<answer>{max(closes)}</answer>"

    with HttpProxyRuntime(settings, registry=registry, environ={"MARKET_KEY": SECRET}) as rt:
        system = Prompt("analyst/system", "You analyse markets.\n{directory}")
        task = Prompt(
            "analyst/task",
            "Highest close of {symbol} so far? Answer as <answer>NUMBER</answer>.",
            functions=tuple(rt.functions([PATH])),
            required_xml_tags=("answer",),
        )
        caller = ScriptedCaller([tool_calls(call(TOOL, symbol="AAPL", limit=30)), answer])
        agent = Agent("analyst", system, model="scripted", caller=caller, clock=FakeClock())
        dialog = agent.init_dialog({"directory": rt.endpoint_directory()})
        result = agent.call(dialog, task, {"symbol": "AAPL"})

    assert result.parsed["xml_tags"]["answer"] == ["11.0"]  # 12.5 and 13.0 are after the cutoff
    (trace,) = result.function_calls
    assert trace.success and trace.name == TOOL
    assert [row["date"] for row in trace.result] == ["2024-01-02", "2024-01-03"]
    assert api.requests[-1]["query"] == {"symbol": "AAPL", "limit": "30", "apikey": SECRET}
    first = caller.requests[0]
    assert PATH in first.messages[0].content  # the directory reached the system prompt
    (tool,) = first.tools
    assert tool.name == TOOL
    assert tool.json_schema()["required"] == ["symbol"]
    assert SECRET not in json.dumps([m.content for m in dialog.messages]) + "".join(seen)


def test_a_bad_tool_call_becomes_a_readable_error_for_the_model(
    api: FakeApi, tmp_path: Path
) -> None:
    registry = ProxyRegistry()
    registry.register("finance/market", MarketProxy)
    settings = ProxySettings(use_cache=False, base_urls={"finance/market": api.base_url})
    with HttpProxyRuntime(settings, registry=registry, environ={"MARKET_KEY": SECRET}) as rt:
        task = Prompt(
            "t/task",
            "Go. <answer>X</answer>",
            functions=tuple(rt.functions([PATH])),
            required_xml_tags=("answer",),
        )
        caller = ScriptedCaller([tool_calls(call(TOOL, limit=3)), "<answer>gave up</answer>"])
        agent = Agent(
            "a", Prompt("t/system", "sys"), model="scripted", caller=caller, clock=FakeClock()
        )
        result = agent.call(agent.init_dialog(), task)
    (trace,) = result.function_calls
    assert not trace.success
    assert "symbol" in (trace.error or "")
    assert api.requests == []
    assert "symbol" in caller.requests[1].messages[-1].content
