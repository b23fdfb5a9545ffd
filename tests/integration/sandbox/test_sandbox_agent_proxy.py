"""The init cell's proxy runtime and the code-execution tool, against a real ipykernel.

Most tests use the stub runtime in ``tests/support/sandbox_proxy_stub.py`` (named through
``SessionMetadata.proxy_runtime_factory``), which calls a local HTTP API started by the test; one
test uses the real runtime (``lllm_adapters.proxies``) through the default import path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from lllm_adapters.jupyter import (
    CALL_FUNCTION_NAME,
    JupyterSandbox,
    JupyterSession,
    SessionMetadata,
)
from lllm_adapters.proxies import ProxySettings
from lllm_domain import Agent, Prompt
from lllm_domain.message import Role
from lllm_domain.sandbox import ExecuteResult, RunStatus, code_execution_tool
from lllm_domain.testing import ScriptedCaller, call, tool_calls

from tests.support.proxies_server import FakeApi, serve
from tests.support.sandbox_proxies import PRICES
from tests.support.sandbox_proxy_stub import STUB_FACTORY, local_api

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with local_api() as base_url:
        yield base_url


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, api: str) -> Iterator[JupyterSession]:
    metadata = SessionMetadata(
        project_root=str(ROOT),
        proxies=("demo/market",),
        cutoff_date="2024-06-30",
        proxy_settings={"base_url": api},
        proxy_runtime_factory=STUB_FACTORY,
    )
    with JupyterSandbox(tmp_path_factory.mktemp("agent")) as sandbox:
        yield sandbox.create_session("agent", metadata)


def test_a_proxy_endpoint_is_callable_from_a_cell(session: JupyterSession) -> None:
    result = session.run_code(
        f"r = {CALL_FUNCTION_NAME}('demo/market/quote', {{'symbol': 'X'}})\nr"
    )
    assert result.status is RunStatus.OK, result.text()
    assert "'path': '/demo/market/quote'" in result.text()
    assert "'symbol': 'X'" in result.text()
    # The runtime was built from the session's settings, cutoff date included.
    settings = session.run_code("_lllm_runtime.settings").text()
    assert "'cutoff_date': '2024-06-30'" in settings
    assert "'activate': ['demo/market']" in settings


def test_an_agent_writes_and_runs_code_through_the_tool(session: JupyterSession) -> None:
    run_python = code_execution_tool(session, timeout=30, max_output_chars=2000)
    system = Prompt("sandbox/system", "You write Python and run it with run_python.")
    task = Prompt(
        "sandbox/task",
        "What is the price of {symbol}? Answer as <answer>PRICE</answer>.",
        functions=(run_python,),
        required_xml_tags=("answer",),
    )
    code = "q = CALL_API('demo/market/quote', {'symbol': 'ACME'})\nprint('price', q['price'])"
    model = ScriptedCaller([tool_calls(call("run_python", code=code)), "<answer>101.5</answer>"])
    agent = Agent("coder", system, model="scripted", caller=model)

    result = agent.call(agent.init_dialog(), task, {"symbol": "ACME"})

    assert result.parsed["xml_tags"]["answer"] == ["101.5"]
    tool_message = model.requests[1].messages[-1]
    assert tool_message.role is Role.TOOL
    assert "price 101.5" in tool_message.content
    assert session.read_cell(len(session.cells()) - 1).source == code


def test_the_tool_reports_errors_as_text(session: JupyterSession) -> None:
    run_python = code_execution_tool(session, timeout=30)
    done = run_python.invoke(call("run_python", code="1/0"))
    assert done.success  # the tool ran; the cell's error is data for the model
    assert done.result_text is not None
    assert "· error]" in done.result_text and "ZeroDivisionError" in done.result_text


def test_the_real_proxy_runtime_serves_call_api_with_its_cutoff(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # The default factory (lllm_adapters.proxies.runtime_from_settings) rebuilds the runtime in
    # the kernel from plain settings; the proxy class is imported there by its reference.
    fake = FakeApi()
    fake.routes["/history"] = PRICES
    with serve(fake):
        settings = ProxySettings(
            activate=("demo/prices",),
            cutoff_date=dt.date(2024, 1, 4),
            use_cache=False,
            base_urls={"demo/prices": fake.base_url},
            classes={"demo/prices": "tests.support.sandbox_proxies:SandboxPricesProxy"},
        )
        metadata = SessionMetadata.for_proxies(settings, project_root=str(ROOT))
        assert metadata.proxy_runtime_factory is None  # the default import path is used
        with JupyterSandbox(tmp_path_factory.mktemp("real")) as sandbox:
            session = sandbox.create_session("real", metadata)
            result = session.run_code(
                "rows = CALL_API('demo/prices/quote/history', {'symbol': 'ACME'})\n"
                "[row['date'] for row in rows]"
            )
    assert result.status is RunStatus.OK, result.text()
    # The item dated after the cutoff (2024-01-05) was dropped inside the kernel.
    # (The runtime's own log lines may appear as stream output; the value is what counts.)
    value = [o for o in result.outputs if isinstance(o, ExecuteResult)]
    assert value[0].data["text/plain"] == "['2024-01-02', '2024-01-03']"
    assert fake.requests[0]["query"]["symbol"] == "ACME"
