"""Transcripts and the HTML timeline built from a real logged session."""

from __future__ import annotations

import re
from pathlib import Path

from lllm_adapters.logs import FileLogStore
from lllm_cli.html_timeline import render_html
from lllm_cli.transcript import render_text, transcript_entries
from lllm_domain import Agent, Prompt, tool
from lllm_domain.replay import ReplaySession
from lllm_domain.testing import ScriptedCaller, call, tool_calls


@tool
def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: The text.
    """
    return text.upper()


HOSTILE = '<script>alert("x")</script> & <img src=x onerror=1>'


def _session(tmp_path: Path) -> ReplaySession:
    store = FileLogStore(tmp_path / "logs")
    task = Prompt(
        "t/task", "{q}", functions=(shout,), xml_tags=("answer",), required_xml_tags=("answer",)
    )
    model = ScriptedCaller(
        [tool_calls(call("shout", text=HOSTILE)), HOSTILE, "<answer>done</answer>"]
    )
    agent = Agent("writer", Prompt("t/system", "Be loud."), "scripted", model, log_store=store)
    agent.call(agent.init_dialog(session="s1"), task, {"q": "Shout it"})
    return ReplaySession(store, "s1")


def test_the_text_transcript_names_speakers_prompts_tools_and_retries(tmp_path: Path) -> None:
    text = render_text(transcript_entries(_session(tmp_path).activities()))

    assert "system · system prompt  (prompt t/system)" in text
    assert "writer · new dialog" in text
    assert "user  (prompt t/task)" in text
    assert "→ calls shout(text=" in text
    assert "← result of tool call [call_1]" in text
    assert "prompt t/task::exception" in text
    assert "↻ retry: attempt 1 failed:" in text
    assert "✗ parse error: Missing the required tag <answer>" in text
    assert "<answer>done</answer>" in text


def test_the_html_timeline_escapes_everything_and_is_self_contained(tmp_path: Path) -> None:
    session = _session(tmp_path)
    page = render_html(
        'session <b>"1"</b>', transcript_entries(session.activities()), summary=(("cost", "<$1>"),)
    )

    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    assert "session &lt;b&gt;&quot;1&quot;&lt;/b&gt;" in page
    assert "&lt;$1&gt;" in page
    assert not re.search(r"<[^>]*\s(src|href)=", page)  # no external assets
    assert "<style>" in page
    assert page.count('<li class="entry') == len(session.activities())


def test_frontend_events_logged_while_silent_read_as_not_shown(tmp_path: Path) -> None:
    import io

    from lllm_adapters.frontend import TerminalFrontend
    from rich.console import Console

    store = FileLogStore(tmp_path / "logs")
    ui = TerminalFrontend(Console(file=io.StringIO()), log=store, session="s1")
    ui.markdown("on screen")
    with ui.silent():
        ui.markdown("off screen")
    text = render_text(transcript_entries(ReplaySession(store, "s1").activities()))

    assert "shown: markdown" in text
    assert "not shown (silent): markdown" in text
    assert "silent true" not in text
