"""The recording and replay callers on their own: errors, streams, lineage, divergence."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lllm_domain.agent import Agent
from lllm_domain.errors import LLMAPIError
from lllm_domain.function import Function
from lllm_domain.message import Image, Message, Role, system_message, user_message
from lllm_domain.prompt import Prompt
from lllm_domain.recording import (
    CALLS,
    RecordingCaller,
    ReplayCaller,
    ReplayDivergenceError,
    ReplayError,
)
from lllm_domain.request import LLMRequest
from lllm_domain.serialization import message_to_data
from lllm_domain.testing import FakeClock, ScriptedCaller, api_error, call, tool_calls
from lllm_domain.tool_output import ToolOutput

from tests.support.logs_stores import make_store

SYSTEM = Prompt("r/system", "You answer.")
TASK = Prompt("r/task", "Say {word}.")


def _request(*texts: str, agent: str = "a", dialog: str = "d1", **kwargs: object) -> LLMRequest:
    messages = (system_message("sys"), *(user_message(t) for t in texts))
    return LLMRequest(
        messages, "m", agent_name=agent, dialog_id=dialog, turn=len(messages), **kwargs
    )  # type: ignore[arg-type]


def test_api_errors_replay_so_retries_replay_too(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    recorder = RecordingCaller(ScriptedCaller([api_error(429, retry_after=2.0), "ok"]), store)
    agent = Agent("a", SYSTEM, model="m", caller=recorder, log_store=store, clock=FakeClock())
    agent.call(agent.init_dialog(session="s"), TASK, {"word": "hi"})
    records = store.read(CALLS, "s")
    assert [r.data["error"] is not None for r in records] == [True, False]
    assert "api_key" not in str(records[0].data)

    replay = ReplayCaller.from_store(store, "s")
    clock = FakeClock()
    agent2 = Agent("a", SYSTEM, model="m", caller=replay, clock=clock)
    result = agent2.call(agent2.init_dialog(session="t"), TASK, {"word": "hi"})
    assert result.message.content == "ok"
    assert clock.sleeps == [2.0]  # the recorded Retry-After was honoured again
    # Asked directly, the first matching recorded call is the error itself.
    fingerprints = records[0].data["messages"]
    messages = tuple(Message(Role(f["role"]), f["content"], "user") for f in fingerprints)
    with pytest.raises(LLMAPIError) as info:
        ReplayCaller.from_store(store, "s").call(LLMRequest(messages, "m", agent_name="a"))
    assert info.value.status == 429 and info.value.retryable and info.value.retry_after == 2.0


def test_a_non_streamed_recording_replays_as_one_delta_and_streams_keep_deltas(
    tmp_path: Path,
) -> None:
    store = make_store("local", tmp_path)
    recorder = RecordingCaller(ScriptedCaller(["one two three", "four five"]), store, "s")
    recorder.call(_request("plain"))
    seen: list[str] = []
    recorder.call(_request("streamed", on_delta=seen.append))
    assert seen == ["four ", "five"]

    replay = ReplayCaller.from_store(store, "s")
    got: list[str] = []
    assert replay.call(_request("plain", on_delta=got.append)).content == "one two three"
    assert got == ["one two three"]
    got.clear()
    replay.call(_request("streamed", on_delta=got.append))
    assert got == ["four ", "five"]


def test_concurrent_identical_requests_follow_their_recorded_dialogs(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    answers = iter(["A1", "B1", "A2", "B2"])
    recorder = RecordingCaller(ScriptedCaller(respond=lambda r: next(answers)), store, "s")
    # Two dialogs ask the same first question, then diverge on the follow-up.
    recorder.call(_request("q", dialog="rec-A"))
    recorder.call(_request("q", dialog="rec-B"))
    recorder.call(_request("q", "A1-follow", dialog="rec-A"))
    recorder.call(_request("q", "B1-follow", dialog="rec-B"))

    replay = ReplayCaller.from_store(store, "s")

    async def run() -> list[str]:
        async def one(live: str) -> str:
            first = await replay.acall(_request("q", dialog=live))
            await asyncio.sleep(0)
            second = await replay.acall(_request("q", f"{first.content}-follow", dialog=live))
            return first.content + "," + second.content

        return list(await asyncio.gather(one("live-x"), one("live-y")))

    assert sorted(asyncio.run(run())) == ["A1,A2", "B1,B2"]
    assert replay.remaining == 0


def test_divergence_messages_name_agent_turn_and_texts(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    recorder = RecordingCaller(ScriptedCaller(respond=lambda r: "fine"), store, "s")
    recorder.call(_request("the original question text"))
    replay = ReplayCaller.from_store(store, "s")
    with pytest.raises(ReplayDivergenceError) as info:
        replay.call(_request("the changed question text"))
    text = str(info.value)
    assert "agent 'a', turn 2" in text and "request message 1 (message #2, user) differs" in text
    assert "original question" in text and "changed question" in text
    with pytest.raises(ReplayDivergenceError, match="no calls for agent 'b'"):
        replay.call(_request("x", agent="b"))
    replay.call(_request("the original question text"))
    with pytest.raises(ReplayDivergenceError, match="more requests than recorded"):
        replay.call(_request("the original question text"))
    with pytest.raises(ReplayError, match="no recorded calls"):
        ReplayCaller.from_store(store, "missing")


def test_a_run_whose_tools_returned_images_replays_exactly_and_other_images_diverge(
    tmp_path: Path,
) -> None:
    def prompt_showing(data: str) -> Prompt:
        def show() -> ToolOutput:
            """Show a picture."""
            return ToolOutput("a picture", (Image(data), Image(data, "image/jpeg")))

        return Prompt("r/look", "Look.", functions=(Function.from_callable(show),))

    store = make_store("sqlite", tmp_path)
    recorder = RecordingCaller(ScriptedCaller([tool_calls(call("show")), "seen"]), store)
    agent = Agent("a", SYSTEM, model="m", caller=recorder, log_store=store, clock=FakeClock())
    original = agent.init_dialog(session="s")
    agent.call(original, prompt_showing("cmVk"))

    replay = ReplayCaller.from_store(store, "s")
    again = Agent("a", SYSTEM, model="m", caller=replay, clock=FakeClock())
    dialog = again.init_dialog(session="t")
    again.call(dialog, prompt_showing("cmVk"))
    assert [message_to_data(m) for m in dialog] == [message_to_data(m) for m in original]
    assert dialog[-2].images == (Image("cmVk"), Image("cmVk", "image/jpeg"))

    other = Agent("a", SYSTEM, model="m", caller=ReplayCaller.from_store(store, "s"))
    with pytest.raises(ReplayDivergenceError):
        other.call(other.init_dialog(session="u"), prompt_showing("Ymx1ZQ=="))
