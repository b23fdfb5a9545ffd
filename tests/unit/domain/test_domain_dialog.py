"""Dialogs: append-only, logged, forked with lineage, costed, serialized."""

from __future__ import annotations

import pytest
from lllm_domain.dialog import Dialog
from lllm_domain.errors import LLLMError, RegistryError
from lllm_domain.message import (
    Creator,
    FunctionCall,
    Message,
    Modality,
    Role,
    assistant_message,
    system_message,
    user_message,
)
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry
from lllm_domain.serialization import dialog_from_json, from_json, to_json
from lllm_domain.testing import CountingIds
from lllm_domain.usage import Cost, Usage

from tests.support.memory_log import MemoryLogStore

TASK = Prompt("task", "Solve {problem}", xml_tags=("answer",))


def sample(log: MemoryLogStore | None = None) -> Dialog:
    dialog = Dialog(session="s", agent_name="solver", log=log, ids=CountingIds("d"))
    dialog.append(system_message("Be brief."))
    dialog.send_prompt(TASK, {"problem": "2+2"})
    dialog.append(assistant_message("<answer>4</answer>", creator="solver"))
    return dialog


def test_dialog_is_append_only() -> None:
    for mutator in ("__setitem__", "__delitem__", "insert", "pop", "remove", "clear", "extend"):
        assert not hasattr(Dialog, mutator), mutator
    dialog = sample()
    with pytest.raises(AttributeError):
        dialog.extra = 1  # type: ignore[attr-defined]
    assert dialog[0].content == "Be brief."
    assert [m.content for m in dialog[1:]] == ["Solve 2+2", "<answer>4</answer>"]
    assert len(dialog) == 3
    assert dialog.last is dialog[-1]
    assert Dialog(ids=lambda: "x").last is None


def test_each_append_is_logged_with_its_index(log_store: MemoryLogStore) -> None:
    dialog = sample(log_store)
    assert log_store.read("dialogs", "s") == []  # appends wait in the outbox: no I/O
    assert [e.collection for e in dialog.pending_records] == ["dialogs", *["messages"] * 3]
    dialog.flush()
    assert dialog.pending_records == ()
    (header,) = [r.data for r in log_store.read("dialogs", "s")]
    assert header == {
        "dialog_id": "d-1",
        "parent_id": None,
        "agent_name": "solver",
        "top_prompt": None,
        "inherited_messages": 0,
    }
    records = [r.data for r in log_store.read("messages", "s")]
    assert [(r["dialog_id"], r["index"]) for r in records] == [("d-1", 0), ("d-1", 1), ("d-1", 2)]
    assert records[1]["message"]["prompt_path"] == "task"
    assert records[2]["message"]["content"] == dialog[2].content


def test_initial_messages_are_logged_in_one_batch(log_store: MemoryLogStore) -> None:
    Dialog(
        [user_message("a"), user_message("b")], session="s", log=log_store, ids=lambda: "x"
    ).flush()
    assert [r.data["index"] for r in log_store.read("messages", "s")] == [0, 1]
    assert log_store.read("dialogs", "s")[0].data["inherited_messages"] == 2


def test_send_prompt_sets_the_top_prompt_and_a_note_inside_its_turn_keeps_it() -> None:
    assert Dialog(ids=lambda: "y").top_prompt is None
    dialog = Dialog(ids=lambda: "x")
    message = dialog.send_prompt(TASK, {"problem": "p"})
    assert dialog.top_prompt is TASK
    assert message.role is Role.USER and message.prompt_path == "task"
    dialog.send_prompt(TASK.exception_handler, {"error_message": "e"}, set_top=False)
    assert dialog.top_prompt is TASK
    note = dialog.send_message(
        "hi", role=Role.TOOL, creator="fn", tool_call_id="c1", extra={"k": 1}, set_top=False
    )
    assert (note.role, note.creator, note.tool_call_id, dict(note.extra)) == (
        Role.TOOL,
        "fn",
        "c1",
        {"k": 1},
    )
    assert dialog.top_prompt is TASK
    image = dialog.send_image("aGk=", caption="a cat", mime_type="image/jpeg")
    assert image.modality is Modality.IMAGE
    assert image.image is not None and image.image.mime_type == "image/jpeg"
    assert image.content == "a cat"


def test_fork_shares_messages_and_points_back(log_store: MemoryLogStore) -> None:
    parent = sample(log_store)
    parent.top_prompt = TASK
    child = parent.fork()
    assert child.parent_id == parent.dialog_id == "d-1"
    assert child.dialog_id == "d-2"
    assert (child.session, child.agent_name, child.top_prompt) == ("s", "solver", TASK)
    assert all(a is b for a, b in zip(child, parent, strict=True))
    assert child.log is log_store
    child.append(user_message("only in the fork"))
    parent.append(user_message("only in the parent"))
    assert [m.content for m in child][-1] == "only in the fork"
    assert [m.content for m in parent][-1] == "only in the parent"
    assert len(child) == len(parent) == 4
    child.flush()  # also waits for the parent's records, handed over when it was forked
    headers = [r.data for r in log_store.read("dialogs", "s")]
    assert headers[1]["parent_id"] == "d-1"
    assert headers[1]["inherited_messages"] == 3
    assert parent.fork(log=False).log is None
    other = MemoryLogStore()
    elsewhere = parent.fork(log=other)
    assert elsewhere.log is other
    elsewhere.flush()
    assert other.read("dialogs", "s")[0].data["parent_id"] == "d-1"


def test_context_copy_drops_the_last_n_messages() -> None:
    dialog = sample()
    copy = dialog.context_copy(1)
    assert [m.content for m in copy] == ["Be brief.", "Solve 2+2"]
    assert copy.parent_id == dialog.dialog_id
    assert copy[0] is dialog[0]
    assert len(dialog.context_copy(0)) == 3
    with pytest.raises(LLLMError, match="n >= 0"):
        dialog.context_copy(-1)


def test_context_copy_of_more_than_the_dialog_is_empty() -> None:
    """Regression: n larger than the dialog used to wrap around (a negative slice end)."""
    dialog = sample()
    assert len(dialog.context_copy(3)) == 0
    assert len(dialog.context_copy(5)) == 0


def test_tail_system_message_and_overview() -> None:
    dialog = sample()
    assert dialog.tail(2) == [dialog[1], dialog[2]]
    assert dialog.tail(0) == []
    assert dialog.tail(10) == list(dialog)
    assert dialog.system_message is dialog[0]
    assert Dialog([user_message("x")], ids=lambda: "x").system_message is None
    dialog.append(
        Message(
            Role.TOOL_CALL,
            "line one\nline two " + "x" * 50,
            "solver",
            function_calls=(FunctionCall("c", "add", {"a": 1, "b": "two"}),),
        )
    )
    lines = dialog.overview(max_chars=20).splitlines()
    assert lines[0] == "[0] system (system): Be brief."
    assert lines[1] == "[1] user (user): Solve 2+2"
    # Newlines flattened, text cut to max_chars (20) with an ellipsis, calls listed.
    assert lines[3] == "[3] tool_call (solver): line one line two x… calls: add(a=1, b='two')"


def test_cost_and_usage_include_attempts() -> None:
    failed = assistant_message("bad", usage=Usage(10, 1), cost=Cost(0.1, 0.0, 0.01))
    final = assistant_message(
        "good", usage=Usage(20, 2, 5), cost=Cost(0.2, 0.05, 0.02), attempts=(failed,)
    )
    unpriced_with_attempt = assistant_message("x", attempts=(failed,))
    dialog = Dialog([user_message("q"), final, unpriced_with_attempt], ids=lambda: "x")
    assert dialog.cost.total_usd == pytest.approx(0.1 + 0.01 + 0.2 + 0.05 + 0.02 + 0.1 + 0.01)
    assert dialog.cost.input_usd == pytest.approx(0.4)
    assert dialog.usage == Usage(40, 4, 5)
    assert dialog.usage.total_tokens == 44
    assert final.total_cost.total_usd == pytest.approx(0.38)


def _registry() -> PromptRegistry:
    registry = PromptRegistry()
    registry.add(TASK)
    return registry


@pytest.mark.parametrize("top_path", ["task", "task::exception", "task::final_interrupt", None])
def test_to_data_from_data_round_trip_resolves_the_top_prompt(top_path: str | None) -> None:
    registry = _registry()
    dialog = sample()
    dialog.parent_id = "p-0"
    dialog.top_prompt = registry.resolve(top_path) if top_path else None
    dialog.append(
        Message(
            Role.TOOL_CALL,
            "",
            "solver",
            modality=Modality.FUNCTION_CALL,
            function_calls=(
                FunctionCall("c1", "add", {"a": 1}, '{"a": 1}', result=2, result_text="2"),
            ),
            attempts=(assistant_message("oops", errors=("Missing <answer>",)),),
        )
    )
    data = dialog.to_data()
    assert data["top_prompt"] == top_path
    again = Dialog.from_data(data, prompts=registry)
    assert again.to_data() == data
    assert list(again) == list(dialog)
    assert (again.dialog_id, again.parent_id, again.session, again.agent_name) == (
        "d-1",
        "p-0",
        "s",
        "solver",
    )
    if top_path is None:
        assert again.top_prompt is None
    else:
        assert again.top_prompt == dialog.top_prompt
        assert again.top_prompt is not None and again.top_prompt.path == top_path
    raw = to_json(dialog)
    assert from_json(raw) == data
    reloaded = dialog_from_json(raw, prompts=registry)
    assert reloaded.to_data() == data
    assert list(reloaded) == list(dialog)


def test_from_data_with_unknown_top_prompt_names_the_closest() -> None:
    data = sample().to_data() | {"top_prompt": "tsak"}
    with pytest.raises(RegistryError, match="no prompt registered as 'tsak'; did you mean 'task'"):
        Dialog.from_data(data, prompts=_registry())
    with pytest.raises(RegistryError, match="unknown handler 'retry'"):
        Dialog.from_data(sample().to_data() | {"top_prompt": "task::retry"}, prompts=_registry())


def test_from_data_into_a_new_store_logs_the_dialog_first_then_continues(
    log_store: MemoryLogStore,
) -> None:
    data = sample().to_data()
    dialog = Dialog.from_data(data, prompts=_registry(), log=log_store)
    (header,) = [r.data for r in log_store.read("dialogs", "s")]
    assert header["dialog_id"] == "d-1" and header["inherited_messages"] == 0
    dialog.append(user_message("next"))
    dialog.flush()
    records = [r.data for r in log_store.read("messages", "s")]
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    # Rebuilding again into the store that now knows the dialog writes nothing more.
    Dialog.from_data(data, prompts=_registry(), log=log_store)
    assert len(log_store.read("dialogs", "s")) == 1
    assert len(log_store.read("messages", "s")) == 4


def test_repr_and_message_helpers() -> None:
    dialog = sample()
    assert repr(dialog) == "Dialog(session='s', dialog_id='d-1', parent_id=None, messages=3)"
    assert user_message("u").creator == Creator.USER
    assert system_message("s").role is Role.SYSTEM
