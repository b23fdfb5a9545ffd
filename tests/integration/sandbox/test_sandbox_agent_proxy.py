"""The init cell's proxy runtime and the code-execution tool, against a real ipykernel.

The proxy runtime here is the stub in ``tests/support/sandbox_proxy_stub.py`` (named through
``SessionMetadata.proxy_runtime_factory``); it calls a local HTTP API started by the test. When
the real ``lllm_adapters.proxies`` module exists, a further test checks the default import path.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from lllm_adapters.jupyter import CALL_FUNCTION_NAME, JupyterSandbox, JupyterSession
from lllm_adapters.jupyter.init_cell import PROXY_RUNTIME_FACTORY
from lllm_domain import Agent, Prompt
from lllm_domain.message import Role
from lllm_domain.sandbox import RunStatus, SessionMetadata, code_execution_tool
from lllm_domain.testing import ScriptedCaller, call, tool_calls

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
    assert "'activate_proxies': ['demo/market']" in settings


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


@pytest.mark.skipif(
    importlib.util.find_spec("lllm_adapters.proxies") is None,
    reason="lllm_adapters.proxies (the real proxy runtime) is not on this branch yet",
)
def test_the_default_factory_is_the_real_proxy_runtime() -> None:
    module_name, _, attr = PROXY_RUNTIME_FACTORY.partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attr))
