"""Traces leave the process: OTLP/HTTP export to a local collector (with the OpenAI adapter
against the local fake server), and ``traceparent`` on a proxy's HTTP requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from lllm_adapters.openai import OpenAICaller, OpenAISettings
from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings
from lllm_adapters.tracing import OtelTracer, inject_trace_context, otlp_tracer_provider
from lllm_domain import Agent, Function, Prompt
from lllm_domain.proxy import Proxy, endpoint
from lllm_domain.registry import ProxyRegistry
from lllm_domain.testing import call, tool_calls
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.domain_builders import answer_prompt, make_agent
from tests.support.openai_server import OpenAIServer, chat_completion, openai_server
from tests.support.otlp_collector import otlp_collector
from tests.support.proxies_server import FakeApi, InstantClock, serve

__all__ = ["openai_server"]

TEST_KEY = "sk-test-SECRET-never-exported-0123456789"


def test_spans_are_exported_over_otlp_http_to_the_endpoint_the_environment_names(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.script(
        chat_completion(None, tool_calls=[("call_1", "add", '{"a": 2, "b": 3}')]),
        chat_completion("<answer>5</answer>", model="gpt-4o-2024-08-06"),
    )

    def add(a: int, b: int) -> int:
        """Add two integers.

        Args:
            a: The first addend.
            b: The second addend.
        """
        return a + b

    with otlp_collector() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        provider = otlp_tracer_provider()
        settings = OpenAISettings(api_key=TEST_KEY, base_url=openai_server.url)
        with OpenAICaller(settings) as caller:
            agent = Agent(
                "calc",
                Prompt("calc/system", "You add."),
                model="gpt-4o",
                caller=caller,
                tracer=OtelTracer(provider),
            )
            prompt = answer_prompt(functions=(Function.from_callable(add),))
            agent.call(agent.init_dialog(session="run-1"), prompt, {"question": "2+3?"})
        provider.shutdown()  # sends what the batch processor still holds
        spans = collector.spans()
        bodies = b"".join(collector.bodies)

    assert set(collector.paths) == {"/v1/traces"}
    assert sorted(s["name"] for s in spans) == [
        "chat gpt-4o",
        "chat gpt-4o",
        "execute_tool add",
        "invoke_agent calc",
    ]
    (root,) = [s for s in spans if s["name"] == "invoke_agent calc"]
    assert all(s["trace_id"] == root["trace_id"] for s in spans)
    assert all(s["parent_id"] == root["span_id"] for s in spans if s is not root)
    assert root["resource"]["service.name"] == "lllm"
    assert root["scope"] == "lllm"
    assert root["attributes"]["lllm.session.id"] == "run-1"
    assert root["attributes"]["gen_ai.provider.name"] == "openai"
    chat = next(s for s in spans if s["name"] == "chat gpt-4o")
    assert chat["attributes"]["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == 10
    assert chat["attributes"]["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert TEST_KEY.encode() not in bodies


class EchoProxy(Proxy):
    """An API that answers with what it received."""

    base_url = "http://unused.invalid"

    @endpoint("data", "echo", "Echo", params={"q": (str, "x")})
    def echo(self, params: dict[str, Any]) -> None:
        return None


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.routes["/echo"] = {"ok": True}
    with serve(fake) as running:
        yield running


def test_a_proxy_request_made_by_a_tool_carries_the_tool_spans_traceparent(
    api: FakeApi, tmp_path: Any
) -> None:
    registry = ProxyRegistry()
    registry.register("demo/api", EchoProxy)
    settings = ProxySettings(
        cutoff_date=dt.date(2024, 1, 4),
        cache_dir=str(tmp_path / "cache"),
        use_cache=False,
        base_urls={"demo/api": api.base_url},
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with HttpProxyRuntime(
        settings,
        registry=registry,
        environ={},
        clock=InstantClock(),
        propagate=inject_trace_context,
    ) as runtime:

        def fetch(q: str) -> str:
            """Fetch from the API.

            Args:
                q: The query.
            """
            return str(runtime.call("demo/api/data/echo", {"q": q}))

        agent, _, _ = make_agent([tool_calls(call("fetch", q="otel")), "<answer>ok</answer>"])
        agent.tracer = OtelTracer(provider)
        prompt = answer_prompt(functions=(Function.from_callable(fetch),))
        agent.call(agent.init_dialog(), prompt, {"question": "?"})
        runtime.call("demo/api/data/echo", {"q": "outside"})

    (tool_span,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool fetch"]
    inside, outside = api.requests
    version, trace_id, parent_id, flags = inside["headers"]["traceparent"].split("-")
    assert version == "00"
    assert trace_id == f"{tool_span.context.trace_id:032x}"
    assert parent_id == f"{tool_span.context.span_id:016x}"
    assert int(flags, 16) & 1  # sampled
    assert "traceparent" not in outside["headers"]  # no span current: nothing to propagate
