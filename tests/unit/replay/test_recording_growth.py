"""Recordings grow linearly: each request records only what it adds to an earlier recorded
request, yet replay still compares every message of every request exactly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain.agent import Agent
from lllm_domain.dialog import Dialog
from lllm_domain.log_writer import writer_for
from lllm_domain.message import Message
from lllm_domain.recording import (
    CALLS,
    RecordedConversation,
    RecordingCaller,
    ReplayCaller,
    ReplayDivergenceError,
    ReplayError,
    fingerprint,
)
from lllm_domain.recording.fingerprint import Remembered
from lllm_domain.request import LLMRequest
from lllm_domain.testing import CountingIds, FakeClock, ScriptedCaller

from tests.support.logs_stores import PERSISTENT_KINDS, make_store

TURNS = 40


def _answer(request: LLMRequest) -> str:
    return f"answer after {request.turn} messages"


def _agent(caller: RecordingCaller | ReplayCaller, name: str = "a") -> Agent:
    return Agent(name, "You answer.", model="m", caller=caller, clock=FakeClock())


def _long_dialog(agent: Agent, session: str = "s", turns: int = TURNS) -> Dialog:
    dialog = agent.init_dialog(session=session)
    for i in range(turns):
        agent.call(dialog, f"question {i}")
    return dialog


def _stored(store: Any, session: str = "rec") -> list[dict[str, object]]:
    writer_for(store).flush()  # recorders hand records to the store's writer
    return [dict(r.data) for r in store.read(CALLS, session)]


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_a_long_dialog_records_each_message_once(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path)
    dialog = _long_dialog(_agent(RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")))
    records = _stored(store)
    assert len(records) == TURNS
    # Every request's conversation is the dialog up to its turn; the final one holds every
    # distinct message once. The recording stores each of them once, not once per request.
    distinct = len(dialog.messages) - 1  # the last reply is recorded as a reply, not a request
    assert sum(len(r["messages"]) for r in records) == distinct  # type: ignore[arg-type]
    sizes = [len(msgspec.json.encode(r)) for r in records]
    assert max(sizes[1:]) <= 2 * sizes[1]  # bytes per turn are bounded, not growing


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_a_long_dialog_with_forks_round_trips_through_the_store(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path)
    recorder = RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")
    agent = _agent(recorder)
    main = _long_dialog(agent, turns=20)
    fork = main.fork()
    agent.call(fork, "a question only the fork asks")
    agent.call(main, "the main line goes on")
    records = _stored(store)
    # The fork's request shares the main line's recorded conversation: it adds only the last
    # reply and its own question, as does the main line's next request.
    assert len(records[-2]["messages"]) == 2  # type: ignore[arg-type]
    assert len(records[-1]["messages"]) == 2  # type: ignore[arg-type]
    assert records[-2]["prefix"] == [records[-3]["call_id"], 40]

    # A fresh store over the same files: the replay rebuilds every request exactly.
    replay = ReplayCaller.from_store(make_store(kind, tmp_path), "rec")
    assert [len(c.messages) for c in replay.calls] == [
        len(r.messages)
        for r in recorder.inner.requests  # type: ignore[union-attr]
    ]
    assert [list(c.messages) for c in replay.calls] == [
        [fingerprint(m) for m in r.messages]
        for r in recorder.inner.requests  # type: ignore[union-attr]
    ]
    again = _agent(replay)
    main2 = _long_dialog(again, turns=20)
    fork2 = main2.fork()
    again.call(fork2, "a question only the fork asks")
    again.call(main2, "the main line goes on")
    assert [m.content for m in main2.messages] == [m.content for m in main.messages]
    assert [m.content for m in fork2.messages] == [m.content for m in fork.messages]
    assert replay.remaining == 0


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_concurrent_dialogs_record_and_replay_whatever_the_interleaving(
    kind: str, tmp_path: Path
) -> None:
    store = make_store(kind, tmp_path)
    recorder = RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")

    async def run(agent: Agent) -> list[list[str]]:
        async def one(n: int) -> list[str]:
            dialog = agent.init_dialog(session="s")
            for i in range(8):
                await agent.acall(dialog, f"dialog {n} question {i}")
                await asyncio.sleep(0)
            return [m.content for m in dialog.messages]

        return list(await asyncio.gather(*(one(n) for n in range(5))))

    recorded = asyncio.run(run(_agent(recorder)))
    records = _stored(store)
    # Interleaved records still share prefixes: the system prompt once in all, then 2 per turn.
    assert sum(len(r["messages"]) for r in records) == 1 + 5 * (1 + 2 * 7)  # type: ignore[arg-type]

    replay = ReplayCaller.from_store(make_store(kind, tmp_path), "rec")
    assert asyncio.run(run(_agent(replay))) == recorded
    assert replay.remaining == 0


def test_one_turn_dialogs_share_the_system_prompt(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    agent = _agent(RecordingCaller(ScriptedCaller(respond=_answer), store, "rec"))
    for i in range(10):
        agent.call(agent.init_dialog(session="s"), f"question {i}")
    records = _stored(store)
    assert [len(r["messages"]) for r in records] == [2] + [1] * 9  # type: ignore[arg-type]
    replay = ReplayCaller.from_store(store, "rec")
    agent2 = _agent(replay)
    for i in range(10):
        agent2.call(agent2.init_dialog(session="t"), f"question {i}")
    assert replay.remaining == 0


def test_a_change_in_an_early_message_of_a_long_dialog_is_still_caught(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    recorder = RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")
    _long_dialog(_agent(recorder))
    requests: list[LLMRequest] = recorder.inner.requests  # type: ignore[union-attr]
    late = requests[30]
    assert len(late.messages) > 60

    # The same request as recorded, except one early message (message 3, a user turn).
    early = late.messages[3]
    changed = Message(early.role, early.content + " (edited)", early.creator)
    messages = (*late.messages[:3], changed, *late.messages[4:])
    replay = ReplayCaller.from_store(store, "rec")
    with pytest.raises(ReplayDivergenceError) as info:
        replay.call(LLMRequest(messages, "m", agent_name="a", dialog_id="x", turn=late.turn))
    error = info.value
    assert error.index == 3 and error.turn == late.turn
    assert "request message 3 (message #4, user) differs" in str(error)
    assert "question 1" in (error.expected or "") and "(edited)" in (error.got or "")
    # A changed message anywhere (here the system prompt) is caught the same way.
    system = late.messages[0]
    altered = (Message(system.role, "You answer!", system.creator), *late.messages[1:])
    with pytest.raises(ReplayDivergenceError) as info:
        replay.call(LLMRequest(altered, "m", agent_name="a", dialog_id="x", turn=late.turn))
    assert info.value.index == 0
    # The unchanged request still replays, and nothing was consumed by the failures.
    assert replay.remaining == TURNS
    assert replay.call(late).content == _answer(late)


def test_a_replayed_live_dialog_that_rewrites_its_history_is_caught(tmp_path: Path) -> None:
    store = make_store("local", tmp_path)
    _long_dialog(_agent(RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")), turns=10)
    replay = ReplayCaller.from_store(store, "rec")
    agent = _agent(replay)
    dialog = _long_dialog(agent, turns=5)
    # Same dialog object, same id; history rewritten behind the replay's back.
    edited = Dialog.from_data(
        {
            **dialog.to_data(),
            "messages": [
                {**m, "content": "tampered"} if i == 1 else m
                for i, m in enumerate(dialog.to_data()["messages"])
            ],
        }
    )
    with pytest.raises(ReplayDivergenceError) as info:
        agent.call(edited, "question 5")
    assert info.value.index == 1 and "tampered" in (info.value.got or "")


def test_recordings_in_the_earlier_format_still_load(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    recorder = RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")
    _long_dialog(_agent(recorder), turns=5)
    # The earlier format: every record holds its request's whole conversation, no ids.
    for request in recorder.inner.requests:  # type: ignore[union-attr]
        store.append(
            CALLS,
            "old",
            {
                "agent_name": "a",
                "dialog_id": "d",
                "parent_dialog_id": None,
                "turn": request.turn,
                "model": "m",
                "prompt_path": None,
                "messages": [fingerprint(m) for m in request.messages],
                "reply": {"role": "assistant", "content": _answer(request), "creator": "a"},
                "error": None,
                "deltas": None,
            },
        )
    replay = ReplayCaller.from_store(store, "old")
    again = _long_dialog(_agent(replay), turns=5)
    assert again.messages[-1].content == "answer after 10 messages"
    assert replay.remaining == 0


def test_a_recording_missing_the_call_it_extends_says_which_and_what_to_do(
    tmp_path: Path,
) -> None:
    store = make_store("sqlite", tmp_path)
    _long_dialog(_agent(RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")), turns=3)
    # Copy all but the first record to another session: the rest refer to what is missing.
    writer_for(store).flush()
    for record in store.read(CALLS, "rec")[1:]:
        store.append(CALLS, "partial", record.data)
    with pytest.raises(ReplayError) as info:
        ReplayCaller.from_store(store, "partial")
    text = str(info.value)
    assert "session 'partial'" in text and "record 0 of 'calls'" in text
    assert "record the run again" in text


def test_call_ids_reused_by_another_recorder_resolve_to_the_latest_earlier_call(
    tmp_path: Path,
) -> None:
    # Two recorders with deterministic ids (both count from 1) record into one session.
    store = make_store("local", tmp_path)
    runs = []
    for n in range(2):
        recorder = RecordingCaller(
            ScriptedCaller(respond=_answer), store, "rec", ids=CountingIds("id")
        )
        runs.append([m.content for m in _long_dialog(_agent(recorder, f"a{n}"), turns=4).messages])
    ids = [r["call_id"] for r in _stored(store)]
    assert len(set(ids)) == 4 < len(ids)

    replay = ReplayCaller.from_store(store, "rec")
    for n in range(2):
        again = _long_dialog(_agent(replay, f"a{n}"), turns=4)
        assert [m.content for m in again.messages] == runs[n]
    assert replay.remaining == 0


def test_a_recorder_that_forgot_a_dialog_records_its_next_request_whole(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    recorder = RecordingCaller(ScriptedCaller(respond=_answer), store, "rec")
    recorder._written = Remembered(entries=2, messages=10)  # remembers almost nothing
    agent = _agent(recorder)
    dialogs = [agent.init_dialog(session="s") for _ in range(3)]
    for turn in range(4):
        for n, dialog in enumerate(dialogs):
            agent.call(dialog, f"dialog {n} turn {turn}")
    records = _stored(store)
    # Forgotten dialogs are recorded whole again, but for the system prompt (the agent's last
    # request, remembered, shares it).
    assert any(r["prefix"][1] == 1 for r in records[3:])  # type: ignore[index]
    replay = ReplayCaller.from_store(store, "rec")
    assert [list(c.messages) for c in replay.calls] == [
        [fingerprint(m) for m in r.messages]
        for r in recorder.inner.requests  # type: ignore[union-attr]
    ]


_fps = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": st.text()}),
    max_size=4,
)


@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0), _fps), max_size=25))
def test_a_recorded_conversation_equals_the_tuple_it_stands_for(
    steps: list[tuple[int, int, list[dict[str, str]]]],
) -> None:
    # Each step extends an earlier conversation (any of them) by sharing some of its messages.
    built: list[RecordedConversation] = [RecordedConversation()]
    plain: list[tuple[dict[str, str], ...]] = [()]
    for pick, share, added in steps:
        base = pick % len(built)
        shared = share % (len(plain[base]) + 1)
        built.append(RecordedConversation(added, built[base], shared))
        plain.append(plain[base][:shared] + tuple(added))
    # Read in an order that leaves some chains unbuilt when a later one is first used.
    for conversation, expected in reversed(list(zip(built, plain, strict=True))):
        assert len(conversation) == len(expected)
        assert [conversation[i] for i in range(-len(expected), len(expected))] == list(
            expected + expected
        )
        assert conversation == expected and conversation == list(expected)
        assert conversation[1:] == expected[1:] and tuple(conversation) == expected
        assert list(reversed(conversation)) == list(reversed(expected))
        if expected:
            assert conversation.index(expected[-1]) == expected.index(expected[-1])
            assert conversation.count(expected[0]) == expected.count(expected[0])
        assert conversation != (*expected, {"role": "user", "content": "x"})


def test_a_long_chain_of_conversations_needs_no_recursion() -> None:
    conversation = RecordedConversation([{"role": "system", "content": "s"}])
    chain = [conversation]
    for i in range(20_000):
        chain.append(RecordedConversation([{"role": "user", "content": str(i)}], chain[-1], i + 1))
    last = chain[-1]
    assert len(last) == 20_001 and last[0]["content"] == "s" and last[-1]["content"] == "19999"
    assert last[5_000]["content"] == "4999"
    assert list(last)[10]["content"] == "9"
    with pytest.raises(IndexError):
        last[20_001]
    with pytest.raises(ValueError, match="cannot share 3 messages"):
        RecordedConversation([], chain[1], 3)
