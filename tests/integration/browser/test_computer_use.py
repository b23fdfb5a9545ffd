"""Computer use end to end: the fake Responses server scripts a model that clicks the search
field, types, presses Enter and checks the result; the actions run in a real headless Chromium
on a page served on 127.0.0.1, and the logged screenshots are read back."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from lllm_adapters.browser import AsyncBrowserComputer, BrowserComputer, BrowserSettings
from lllm_adapters.logs.sqlite_store import SQLiteLogStore
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller
from lllm_cli.html_timeline import render_html
from lllm_cli.transcript import transcript_entries
from lllm_domain.agent import Agent
from lllm_domain.computer import ComputerCall, ComputerUse, SafetyCheck
from lllm_domain.errors import ComputerSafetyRefusedError, ComputerStepLimitError
from lllm_domain.limits import CallLimits
from lllm_domain.message import Role
from lllm_domain.prompt import Prompt
from lllm_domain.replay import ReplaySession
from lllm_domain.testing import FakeClock
from PIL import Image

from tests.integration.browser.conftest import VIEWPORT
from tests.integration.openai.conftest import settings_for
from tests.support.form_page import BLOCKED_URL, FIELD_CENTRE, LINK_CENTRE
from tests.support.openai_server import (
    OpenAIServer,
    computer_call,
    computer_call_outputs,
    response_object,
)

MODEL = "computer-use-preview"
SYSTEM = Prompt("surf/system", "You use a web browser.")
TASK = Prompt(
    "surf/task",
    "Search the page for {word}.",
    computer_use_config={
        "display_width": VIEWPORT.width,
        "display_height": VIEWPORT.height,
        "environment": "browser",
    },
)


def searching(word: str, *, checks: list[dict[str, str]] | None = None) -> list[dict[str, object]]:
    """The scripted model: click the field, type ``word``, press Enter, then answer."""
    x, y = FIELD_CENTRE
    turn = [
        computer_call("c1", {"type": "click", "x": x, "y": y, "button": "left"}),
        computer_call("c2", {"type": "type", "text": word}, safety_checks=checks or ()),
        computer_call("c3", {"type": "keypress", "keys": ["ENTER"]}),
    ]
    return [
        response_object(None, hosted=[item], model=MODEL, id=f"r{i}") for i, item in enumerate(turn)
    ] + [response_object(f"The page says: You searched: {word}", model=MODEL, id="r9")]


def agent(
    caller: object, computer: ComputerUse, store: SQLiteLogStore | None = None, **limits: int
) -> Agent:
    return Agent(
        "surfer",
        SYSTEM,
        MODEL,
        caller,  # type: ignore[arg-type]
        api_type="response",
        clock=FakeClock(),
        log_store=store,
        computer=computer,
        limits=CallLimits(**limits),  # type: ignore[arg-type]
    )


def ocr(png: bytes, tmp_path: Path) -> str:
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        pytest.fail("tesseract reads the screenshots: apt-get install -y tesseract-ocr")
    shot = tmp_path / "shot.png"
    shot.write_bytes(png)
    seen = subprocess.run(
        [tesseract, str(shot), "stdout"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    return " ".join(seen.split())


def test_a_scripted_model_searches_and_the_log_shows_it(
    browser: BrowserComputer, page_url: str, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    openai_server.script(*searching("giraffe"))
    with SQLiteLogStore(tmp_path / "log.db", durable=False) as store:
        surfer = agent(OpenAICaller(settings_for(openai_server)), ComputerUse(browser), store)
        result = surfer.call(surfer.init_dialog(session="surf"), TASK, {"word": "giraffe"})

        # The page's state changed: the form was submitted with what the model typed.
        assert result.content == "The page says: You searched: giraffe"
        assert browser.url() == f"{page_url}result?q=giraffe"
        assert "You searched: giraffe" in browser.page_text()

        # Each action went back to the model as its screenshot.
        requests = openai_server.requests
        assert len(requests) == 4
        for n, call_id in enumerate(["c1", "c2", "c3"], start=1):
            [output] = computer_call_outputs(requests[n])[-1:]
            assert output["call_id"] == call_id
            assert output["output"]["image_url"].startswith("data:image/png;base64,")
        assert requests[3].json["input"][2]["type"] == "computer_call"

        # The log holds every action and every screenshot: replay it and export it.
        replay = ReplaySession(store, "surf")
        entries = transcript_entries(replay.activities())
        page = render_html("surf", entries)
    shots = [e.image for e in entries if e.image]
    assert len(shots) == 3 and page.count('<img class="screenshot"') == 3
    actions = [d for e in entries for d in e.details if d.startswith("→ computer")]
    assert actions == [
        f"→ computer click(x={FIELD_CENTRE[0]}, y={FIELD_CENTRE[1]}, button='left') [c1]",
        "→ computer type(text='giraffe') [c2]",
        "→ computer keypress(keys=['ENTER']) [c3]",
    ]
    pngs = [base64.b64decode(s.split(",", 1)[1]) for s in shots]  # type: ignore[union-attr]
    after_click, after_typing, after_enter = (Image.open(io.BytesIO(p)).convert("L") for p in pngs)
    assert after_click.size == (VIEWPORT.width, VIEWPORT.height)
    # Typing drew text into the field; Enter replaced the form by the result page.
    field = (40, 40, 440, 90)
    assert after_click.crop(field).tobytes() != after_typing.crop(field).tobytes()
    assert "searched: giraffe" in ocr(pngs[2], tmp_path)
    assert "giraffe" not in ocr(pngs[0], tmp_path)
    assert after_enter.tobytes() != after_typing.tobytes()


async def test_the_async_agent_drives_the_async_browser(
    page_url: str, openai_server: OpenAIServer
) -> None:
    openai_server.script(*searching("zebra"))
    settings = BrowserSettings(page_url, VIEWPORT)  # allowed: the start URL's host
    async with AsyncBrowserComputer(settings) as browser:
        surfer = agent(AsyncOpenAICaller(settings_for(openai_server)), ComputerUse(browser))
        result = await surfer.acall(surfer.init_dialog(), TASK, {"word": "zebra"})
        assert "You searched: zebra" in await browser.page_text()
    tool_messages = [m for m in result.dialog.messages if m.role is Role.TOOL]
    assert [m.tool_call_id for m in tool_messages] == ["c1", "c2", "c3"]
    assert all(m.image is not None and m.image.mime_type == "image/png" for m in tool_messages)


def test_a_safety_check_is_refused_unless_approved(
    browser: BrowserComputer, page_url: str, openai_server: OpenAIServer
) -> None:
    check = {"id": "sc_1", "code": "malicious_instructions", "message": "Looks odd."}
    openai_server.script(*searching("lion", checks=[check]))
    surfer = agent(OpenAICaller(settings_for(openai_server)), ComputerUse(browser))
    with pytest.raises(ComputerSafetyRefusedError, match="malicious_instructions") as info:
        surfer.call(surfer.init_dialog(), TASK, {"word": "lion"})
    assert info.value.checks == (SafetyCheck("sc_1", "malicious_instructions", "Looks odd."),)
    assert browser.url() == page_url and "lion" not in browser.page_text()

    asked: list[tuple[str, str]] = []

    def approve(call: ComputerCall, check: SafetyCheck) -> bool:
        asked.append((call.call_id, check.code))
        return True

    openai_server.reset()
    browser.navigate(page_url)
    openai_server.script(*searching("lion", checks=[check]))
    surfer = agent(OpenAICaller(settings_for(openai_server)), ComputerUse(browser, approve))
    surfer.call(surfer.init_dialog(), TASK, {"word": "lion"})
    assert asked == [("c2", "malicious_instructions")]
    assert "You searched: lion" in browser.page_text()
    acknowledged = computer_call_outputs(openai_server.requests[2])[-1]
    assert acknowledged["call_id"] == "c2"
    assert acknowledged["acknowledged_safety_checks"] == [check]


def test_the_step_limit_stops_the_loop(
    browser: BrowserComputer, openai_server: OpenAIServer
) -> None:
    openai_server.script(*searching("tiger"))
    surfer = agent(
        OpenAICaller(settings_for(openai_server)), ComputerUse(browser), max_computer_steps=2
    )
    with pytest.raises(ComputerStepLimitError, match="max_computer_steps=2") as info:
        surfer.call(surfer.init_dialog(), TASK, {"word": "tiger"})
    assert info.value.dialog is not None
    assert len(openai_server.requests) == 3  # the third action was never run nor answered
    assert "You searched" not in browser.page_text()


def test_a_navigation_off_the_allow_list_is_refused(
    browser: BrowserComputer, page_url: str, openai_server: OpenAIServer
) -> None:
    x, y = LINK_CENTRE
    openai_server.script(
        response_object(
            None, hosted=[computer_call("c1", {"type": "click", "x": x, "y": y})], model=MODEL
        ),
        response_object("blocked", model=MODEL),
    )
    surfer = agent(OpenAICaller(settings_for(openai_server)), ComputerUse(browser))
    result = surfer.call(surfer.init_dialog(), TASK, {"word": "x"})
    [output] = [m for m in result.dialog.messages if m.role is Role.TOOL]
    assert output.content.startswith(f"Error: navigation to {BLOCKED_URL!r} refused")
    assert "BrowserSettings.allowed_hosts" in output.content
    assert browser.url() == page_url
