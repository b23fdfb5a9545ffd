"""Computer-use turns in the transcript and the HTML export: actions as details, screenshots as
inline images, and nothing but image data in an image's source."""

from __future__ import annotations

from lllm_cli.html_timeline import render_html
from lllm_cli.transcript import Entry, transcript_entries
from lllm_domain.computer import Click
from lllm_domain.message import Image, Message, Modality, Role
from lllm_domain.replay import Activity
from lllm_domain.testing import computer_actions


def _entries(*messages: Message) -> list[Entry]:
    return transcript_entries(
        Activity(float(i), "messages", i, {}, "d1", "surfer", m) for i, m in enumerate(messages)
    )


def shot(mime: str) -> Message:
    return Message(
        Role.TOOL,
        "Screenshot after click",
        "function",
        Modality.IMAGE,
        tool_call_id="cu_1",
        image=Image("iVBORw0KGgo=", mime),
    )


def test_actions_are_listed_and_screenshots_shown_inline() -> None:
    entries = _entries(computer_actions(Click(3, 4)), shot("image/png"))
    page = render_html("s", entries)
    assert "→ computer click(x=3, y=4, button=&#x27;left&#x27;) [cu_1]" in page
    assert (
        '<img class="screenshot" alt="screenshot" src="data:image/png;base64,iVBORw0KGgo=">' in page
    )


def test_an_image_of_another_type_is_not_put_in_the_page() -> None:
    page = render_html("s", _entries(shot('text/html"><script>x</script>')))
    assert "<img" not in page and "<script>" not in page


def test_a_tools_first_image_is_shown_inline() -> None:
    result = Message(
        Role.TOOL,
        "a red pixel",
        "function",
        tool_call_id="call_1",
        images=(Image("cmVk", "image/png"), Image("Ymx1ZQ==", "image/jpeg")),
    )
    page = render_html("s", _entries(result))
    assert 'src="data:image/png;base64,cmVk"' in page
