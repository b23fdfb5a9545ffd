"""Replay sessions: time-ordered activities, costs per agent and model, lineage, reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_domain.agent import Agent
from lllm_domain.errors import ReplaySessionError
from lllm_domain.message import Role, user_message
from lllm_domain.model_card import ModelCard, Pricing
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry
from lllm_domain.replay import ReplaySession
from lllm_domain.testing import FakeClock, ScriptedCaller
from lllm_domain.usage import Usage

from tests.support.logs_stores import make_store

SYSTEM = Prompt("t/system", "You answer.")
TASK = Prompt("t/task", "Q: {q}", required_xml_tags=("answer",))


def _run(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = make_store("sqlite", tmp_path)
    card = ModelCard("m1", pricing=Pricing(input_per_million=1e4, output_per_million=2e4))
    caller = ScriptedCaller(["no tag", "<answer>1</answer>", "<answer>2</answer>"], model_card=card)
    agent = Agent("solver", SYSTEM, model="m1", caller=caller, log_store=store, clock=FakeClock())
    dialog = agent.init_dialog(session="s")
    first = agent.call(dialog, TASK, {"q": "one"})
    fork = dialog.fork()
    second = agent.call(fork, TASK, {"q": "two"})
    store.append("frontend", "s", {"event": "write", "text": "done"})
    return store, dialog, fork, first, second


def test_activities_merge_dialogs_messages_and_frontend_in_time_order(tmp_path: Path) -> None:
    store, *_ = _run(tmp_path)
    session = ReplaySession(store, "s")
    activities = session.activities()
    assert [a.time for a in activities] == sorted(a.time for a in activities)
    kinds = [a.kind for a in activities]
    assert kinds[0] == "dialogs" and kinds[-1] == "frontend"
    assert kinds.count("dialogs") == 3  # the dialog, the retry's working copy, the fork
    assert "solver" in session.timeline()


def test_costs_count_every_reply_once_including_attempts(tmp_path: Path) -> None:
    store, _, _, first, second = _run(tmp_path)
    report = ReplaySession(store, "s").costs()
    assert first.message.attempts  # "no tag" was retried
    expected_usage = first.message.total_usage + second.message.total_usage
    assert report.session.usage == expected_usage
    assert report.session.replies == 3
    assert report.by_agent["solver"].usage == expected_usage
    assert report.by_model["m1"].cost.total_usd == pytest.approx(
        (first.message.total_cost + second.message.total_cost).total_usd
    )
    assert report.session.cost.total_usd > 0
    assert "agent solver" in report.table()


def test_lineage_and_reload_a_dialog_to_continue_it(tmp_path: Path) -> None:
    store, dialog, fork, *_ = _run(tmp_path)
    registry = PromptRegistry()
    registry.register(TASK.path, TASK)
    session = ReplaySession(store, "s", prompts=registry)
    assert [d.dialog_id for d in session.lineage(fork.dialog_id)] == [
        dialog.dialog_id,
        fork.dialog_id,
    ]
    assert fork.dialog_id in [d.dialog_id for d in session.children(dialog.dialog_id)]
    assert dialog.dialog_id in [d.dialog_id for d in session.roots()]
    live = session.dialog(fork.dialog_id, log=store)
    assert list(live.messages) == list(fork.messages)
    assert live.parent_id == dialog.dialog_id and live.agent_name == "solver"
    assert live.top_prompt is TASK
    live.append(user_message("and three?"))
    live.flush()
    again = ReplaySession(store, "s")
    assert again.messages(fork.dialog_id)[-1].content == "and three?"
    assert again.messages(fork.dialog_id)[0].role is Role.SYSTEM
    with pytest.raises(ReplaySessionError, match="no dialog 'nope'"):
        session.dialog("nope")


def test_usage_without_cost_is_still_totalled(tmp_path: Path) -> None:
    store = make_store("local", tmp_path)
    caller = ScriptedCaller(["<answer>x</answer>"])
    agent = Agent("a", SYSTEM, model="m2", caller=caller, log_store=store, clock=FakeClock())
    agent.call(agent.init_dialog(session="u"), TASK, {"q": "?"})
    report = ReplaySession(store, "u").costs()
    assert report.by_model["m2"].usage.input_tokens > 0
    assert report.session.cost.total_usd == 0
    assert isinstance(report.session.usage, Usage)
