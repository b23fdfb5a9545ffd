"""Record once, replay forever: a logged run of an agent system re-runs offline through the
replay caller with an identical transcript; a changed prompt makes the replay fail clearly."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from lllm_adapters.frontend import TerminalFrontend
from lllm_domain.dialog import Dialog
from lllm_domain.errors import AgentCallError, ReplayDivergenceError
from lllm_domain.recording import RecordingCaller, ReplayCaller
from lllm_domain.replay import ReplaySession
from lllm_domain.serialization import message_to_data
from rich.console import Console

from tests.support.logs_stores import PERSISTENT_KINDS, make_store
from tests.support.logs_system import build, prompts, script


def _transcript(report: dict[str, Any]) -> dict[str, Any]:
    dialogs: list[Dialog] = report["dialogs"]
    return {
        **{k: v for k, v in report.items() if k != "dialogs"},
        "dialogs": [(d.agent_name, [message_to_data(m) for m in d.messages]) for d in dialogs],
    }


def _frontend(store: Any, session: str) -> TerminalFrontend:
    return TerminalFrontend(Console(file=io.StringIO()), log=store, session=session)


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_a_logged_run_replays_offline_with_an_identical_transcript(
    kind: str, tmp_path: Path
) -> None:
    store = make_store(kind, tmp_path)
    recorder = RecordingCaller(script(), store)
    original = build(recorder, store, prompts(), _frontend(store, "run 1")).call(
        "what is 2+3?", session="run 1"
    )
    assert original["answer"] == "5" and original["checked"] == "5, checked"

    # A fresh process in spirit: only the log store, no scripted caller anywhere.
    replay = ReplayCaller.from_store(make_store(kind, tmp_path), "run 1")
    again = build(replay, store, prompts(), _frontend(store, "replay 1")).call(
        "what is 2+3?", session="replay 1"
    )
    assert _transcript(again) == _transcript(original)
    assert again["deltas"] == original["deltas"]
    assert len(original["deltas"]) > 1  # streamed, and replayed as the same stream
    assert replay.remaining == 0
    # The dialog ids differ between runs (random), the replay matched structurally.
    assert original["dialogs"][0].dialog_id != again["dialogs"][0].dialog_id

    # The replayed session's log reads back like the original.
    first, second = ReplaySession(store, "run 1"), ReplaySession(store, "replay 1")
    assert first.costs() == second.costs()
    assert [a.describe() for a in first if a.kind != "dialogs"] == [
        a.describe() for a in second if a.kind != "dialogs"
    ]


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_a_changed_prompt_makes_the_replay_fail_where_it_diverged(
    kind: str, tmp_path: Path
) -> None:
    store = make_store(kind, tmp_path)
    build(RecordingCaller(script(), store), store, prompts(), _frontend(store, "s")).call(
        "what is 2+3?", session="s"
    )
    changed = prompts("Question: {question}. Reply as <answer>X</answer>, please.")
    replay = ReplayCaller.from_store(store, "s")
    system = build(replay, store, changed, _frontend(store, "s2"))
    with pytest.raises((ReplayDivergenceError, AgentCallError)) as info:
        system.call("what is 2+3?", session="s2")
    error = info.value
    assert isinstance(error, ReplayDivergenceError)
    text = str(error)
    assert "agent 'researcher'" in text and "turn 2" in text
    assert "request message 1 (message #2, user) differs" in text
    assert "expected: user: " in text and "Answer as <answer>" in text
    assert "got:      user: " in text and "Reply as <answer>" in text
    assert error.agent_name == "researcher" and error.index == 1
