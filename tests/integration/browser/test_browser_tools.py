"""The browser as ordinary function tools, for a model without the hosted computer-use tool:
the fake Chat Completions server scripts the tool calls, a real Chromium runs them."""

from __future__ import annotations

import json

import pytest
from lllm_adapters.browser import BrowserComputer, BrowserSettings, browser_tools
from lllm_adapters.openai import OpenAICaller
from lllm_domain.agent import Agent
from lllm_domain.errors import ComputerError
from lllm_domain.limits import CallLimits
from lllm_domain.prompt import Prompt
from lllm_domain.testing import FakeClock

from tests.integration.openai.conftest import settings_for
from tests.support.form_page import BLOCKED_URL, FIELD_CENTRE
from tests.support.openai_server import OpenAIServer, chat_completion


def step(call_id: str, name: str, **arguments: object) -> dict[str, object]:
    return chat_completion(None, tool_calls=[(call_id, name, json.dumps(arguments))])


def test_a_tool_calling_model_searches_with_the_browser_tools(
    browser: BrowserComputer, page_url: str, openai_server: OpenAIServer
) -> None:
    x, y = FIELD_CENTRE
    openai_server.script(
        step("t1", "browser_navigate", url=page_url),
        step("t2", "browser_click", x=x, y=y),
        step("t3", "browser_type", text="okapi", press_enter=True),
        step("t4", "browser_read_page"),
        step("t5", "browser_screenshot"),
        step("t6", "browser_navigate", url=BLOCKED_URL),
        step("t7", "browser_click", selector="#missing"),
        chat_completion("It found okapi."),
    )
    task = Prompt("surf/tools", "Search for {word}.", functions=browser_tools(browser))
    surfer = Agent(
        "surfer",
        "You use a web browser through tools.",
        "gpt-4o",
        OpenAICaller(settings_for(openai_server)),
        clock=FakeClock(),
        limits=CallLimits(max_interrupt_times=10),
    )
    result = surfer.call(surfer.init_dialog(), task, {"word": "okapi"})
    assert result.content == "It found okapi."
    assert browser.url() == f"{page_url}result?q=okapi"

    answers = {c.id: c for c in result.function_calls}
    assert answers["t1"].result_text == f"Opened {page_url}"
    assert answers["t3"].result_text == f"Typed 5 characters; now at {page_url}result?q=okapi"
    assert "You searched: okapi" in (answers["t4"].result_text or "")
    shot = answers["t5"].result
    assert shot["mime_type"] == "image/png" and shot["bytes"] > 1000
    assert "You searched: okapi" in (answers["t5"].result_text or "")
    assert "base64" not in (answers["t5"].result_text or "")
    refused = answers["t6"].error or ""
    assert f"navigation to {BLOCKED_URL!r} refused" in refused
    assert "BrowserSettings.allowed_hosts" in refused
    assert "#missing" in (answers["t7"].error or "")
    # The model read each result as a tool message (the chat wire format).
    last = openai_server.requests[-1].json["messages"]
    assert [m["tool_call_id"] for m in last if m["role"] == "tool"] == [
        f"t{i}" for i in range(1, 8)
    ]


def test_a_start_url_off_the_allow_list_is_refused_before_launch(page_url: str) -> None:
    settings = BrowserSettings(BLOCKED_URL, allowed_hosts=("127.0.0.1",))
    browser = BrowserComputer(settings)
    try:
        with pytest.raises(ComputerError, match=r"host 'blocked.example' is not in .*127\.0\.0\.1"):
            browser.start()
    finally:
        browser.close()


def test_a_missing_chromium_names_the_setting_and_the_fix(page_url: str) -> None:
    settings = BrowserSettings(page_url, executable="/nonexistent/chromium")
    browser = BrowserComputer(settings)
    try:
        with pytest.raises(ComputerError, match=r"BrowserSettings.executable.*apt-get install"):
            browser.start()
    finally:
        browser.close()
