"""docs/adapters.md: its example adapters type-check under ``mypy --strict``.

(The page's blocks also run, against the fake OpenAI server, in ``test_doc_blocks.py``.)
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lllm_domain import Function, LLMAPIError, LLMRequest, Role
from lllm_domain.message import user_message
from lllm_domain.ports import BatchLogStore, LogEntry

from tests.docs.doc_blocks import Block, parse
from tests.support.openai_server import (
    OpenAIServer,
    chat_completion,
    error_reply,
    rate_limited,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "adapters.md"


def page_module() -> str:
    """The page's Python blocks, in order, as one module (as they run: one namespace)."""
    blocks = [
        item
        for item in parse(PAGE)
        if isinstance(item, Block) and item.is_python and item.marker not in ("fragment", "skip")
    ]
    return "\n\n".join(block.code for block in blocks)


def test_the_adapters_page_has_the_two_adapters() -> None:
    """The page builds a caller and a log store (and the type check below sees them)."""
    source = page_module()
    assert "class UrllibCaller" in source
    assert "class SQLiteRecords" in source


def test_the_adapters_page_type_checks_strictly(tmp_path: Path) -> None:
    """``mypy --strict`` finds nothing in the page's code."""
    module = tmp_path / "adapters_page.py"
    module.write_text(page_module(), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-error-summary",
            str(module),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, f"mypy --strict on docs/adapters.md:\n{done.stdout}{done.stderr}"


# -- the page's adapters keep the ports' contracts ---------------------------------------------


def page_adapters() -> dict[str, Any]:
    """The namespace of the page's two adapter blocks (the caller and the store)."""
    namespace: dict[str, Any] = {"__name__": "adapters_page"}
    for item in parse(PAGE):
        adapter = "class UrllibCaller" in item.code or "class SQLiteRecords" in item.code
        if isinstance(item, Block) and item.is_python and adapter:
            exec(compile(item.code, str(PAGE), "exec"), namespace)
    return namespace


def _request(**fields: Any) -> LLMRequest:
    return LLMRequest(
        messages=(user_message("What is the weather in Paris?"),), model="m", **fields
    )


def test_the_page_caller_keeps_the_caller_contract(openai_server: OpenAIServer) -> None:
    """Text, tool calls (ids kept, bad arguments flagged) and typed errors, over real HTTP."""
    caller = page_adapters()["UrllibCaller"](openai_server.url, "sk-test-key-0123456789abcdef")
    weather = Function("get_weather", "", {"city": {"type": "string"}}, ("city",))
    openai_server.script(
        chat_completion("Sunny."),
        chat_completion(None, tool_calls=[("call_9", "get_weather", '{"city": "Paris"}')]),
        chat_completion(None, tool_calls=[("call_8", "get_weather", "{not json")]),
        rate_limited("2"),
        error_reply(400, "model not found"),
    )
    deltas: list[str] = []
    reply = caller.call(_request(on_delta=deltas.append))
    assert (reply.role, reply.content, deltas) == (Role.ASSISTANT, "Sunny.", ["Sunny."])
    assert reply.usage is not None and reply.usage.total_tokens == 15

    asked = caller.call(_request(tools=(weather,)))
    assert asked.role is Role.TOOL_CALL
    assert [(c.id, c.name, dict(c.arguments)) for c in asked.function_calls] == [
        ("call_9", "get_weather", {"city": "Paris"})
    ]
    sent = openai_server.requests[1].json
    assert sent["tools"][0]["function"]["parameters"] == weather.json_schema()
    assert (
        openai_server.requests[1].headers["authorization"] == "Bearer sk-test-key-0123456789abcdef"
    )

    broken = caller.call(_request(tools=(weather,)))
    assert broken.function_calls[0].arguments_error
    assert broken.function_calls[0].raw_arguments == "{not json"

    with pytest.raises(LLMAPIError) as limited:
        caller.call(_request())
    assert (limited.value.retryable, limited.value.status, limited.value.retry_after) == (
        True,
        429,
        2.0,
    )
    with pytest.raises(LLMAPIError, match="model not found") as refused:
        caller.call(_request())
    assert (refused.value.retryable, refused.value.status) == (False, 400)
    assert "sk-test" not in repr(caller)


def test_the_page_caller_reports_a_dead_endpoint_as_retryable() -> None:
    """A refused connection is a retryable LLMAPIError naming the endpoint."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caller = page_adapters()["UrllibCaller"](f"http://127.0.0.1:{port}/v1", "", timeout=5)
    with pytest.raises(LLMAPIError, match=f"127.0.0.1:{port}/v1/chat/completions") as dead:
        caller.call(_request())
    assert dead.value.retryable


def test_the_page_store_keeps_the_log_store_contract(tmp_path: Path) -> None:
    """Order and seq per (collection, session), sessions in order, batches, reopening."""
    make = page_adapters()["SQLiteRecords"]
    store = make(str(tmp_path / "logs.sqlite3"))
    assert isinstance(store, BatchLogStore)
    later = time.time() + 60
    store.append("messages", "s1", {"i": 0})
    store.append_many("messages", "s1", [{"i": 1}, {"i": 2}])
    store.append_entries(
        [LogEntry("dialogs", "s2", {"d": 1}, later), LogEntry("messages", "s1", {"i": 3})]
    )
    again = make(str(tmp_path / "logs.sqlite3"))
    records = again.read("messages", "s1")
    assert [(r.seq, r.data["i"]) for r in records] == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert [(r.seq, r.time, r.data) for r in again.read("dialogs", "s2")] == [(0, later, {"d": 1})]
    assert again.sessions() == ["s1", "s2"]
    assert again.read("messages", "nobody") == []
