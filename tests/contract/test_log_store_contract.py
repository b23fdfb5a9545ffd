"""The log-store contract, run against every store: SQLite, local files and none."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_adapters.logs import LogStoreError
from lllm_adapters.observability import Redactor
from lllm_domain.dialog import Dialog
from lllm_domain.message import Image, Message, Role, assistant_message, user_message
from lllm_domain.ports import LogStore
from lllm_domain.serialization import message_from_data

from tests.support.logs_stores import PERSISTENT_KINDS, STORE_KINDS, make_store

WEIRD_NAMES = [
    "../../etc/passwd",
    "a/b\\c",
    "nul\x00inside",
    "x" * 300,
    "",
    ".",
    "..",
    "café ☕ task: summarise 'this'",
]


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(kind: str, tmp_path: Path) -> LogStore:
    return make_store(kind, tmp_path)


def test_append_then_read_in_order(kind: str, store: LogStore) -> None:
    for i in range(5):
        store.append("messages", "s1", {"i": i})
    records = store.read("messages", "s1")
    if kind == "none":
        assert records == []
        return
    assert [r.data for r in records] == [{"i": i} for i in range(5)]
    assert [r.seq for r in records] == list(range(5))
    times = [r.time for r in records]
    assert times == sorted(times)
    assert all(isinstance(t, float) for t in times)


def test_append_many_keeps_order_with_single_appends(kind: str, store: LogStore) -> None:
    store.append("messages", "s", {"i": 0})
    store.append_many("messages", "s", [{"i": 1}, {"i": 2}, {"i": 3}])
    store.append("messages", "s", {"i": 4})
    store.append_many("messages", "s", [])
    got = [r.data["i"] for r in store.read("messages", "s")]
    assert got == ([] if kind == "none" else [0, 1, 2, 3, 4])
    assert [r.seq for r in store.read("messages", "s")] == list(range(len(got)))


def test_collections_and_sessions_are_separate(kind: str, store: LogStore) -> None:
    store.append("messages", "a", {"v": "a-msg"})
    store.append("dialogs", "a", {"v": "a-dlg"})
    store.append("messages", "b", {"v": "b-msg"})
    if kind == "none":
        assert store.read("messages", "a") == []
        assert store.sessions() == []
        return
    assert [r.data["v"] for r in store.read("messages", "a")] == ["a-msg"]
    assert [r.data["v"] for r in store.read("dialogs", "a")] == ["a-dlg"]
    assert [r.data["v"] for r in store.read("messages", "b")] == ["b-msg"]
    assert store.read("frontend", "a") == []
    assert store.read("messages", "missing") == []
    assert store.sessions() == ["a", "b"]


@pytest.mark.parametrize("name", WEIRD_NAMES, ids=range(len(WEIRD_NAMES)))
def test_session_names_are_data(kind: str, store: LogStore, name: str) -> None:
    store.append("messages", name, {"name": name})
    store.append("messages", "other", {"name": "other"})
    if kind == "none":
        return
    assert [r.data["name"] for r in store.read("messages", name)] == [name]
    assert name in store.sessions()


def test_plain_data_round_trips(kind: str, store: LogStore) -> None:
    data = {
        "text": 'ünïcödé ☕ \n\t"quoted" \\ back',
        "nested": {"list": [1, 2.5, None, True, False, {"deep": []}]},
        "empty": {},
        "big": 2**53,
    }
    store.append("frontend", "s", data)
    if kind != "none":
        assert store.read("frontend", "s")[0].data == data


def test_unserializable_data_is_a_clear_error(kind: str, store: LogStore) -> None:
    if kind == "none":
        store.append("messages", "s", {"bad": object()})
        return
    with pytest.raises(LogStoreError, match=r"'messages'.*session 's'"):
        store.append("messages", "s", {"bad": object()})
    assert store.read("messages", "s") == []


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_a_reopened_store_sees_and_continues_the_records(kind: str, tmp_path: Path) -> None:
    first = make_store(kind, tmp_path)
    first.append_many("messages", "s", [{"i": 0}, {"i": 1}])
    close = getattr(first, "close", None)
    if close is not None:
        close()
    second = make_store(kind, tmp_path)
    second.append("messages", "s", {"i": 2})
    assert [(r.seq, r.data["i"]) for r in second.read("messages", "s")] == [(0, 0), (1, 1), (2, 2)]
    assert second.sessions() == ["s"]


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_records_are_redacted(kind: str, tmp_path: Path) -> None:
    secret = "very-secret-value-123"
    store = make_store(kind, tmp_path, redactor=Redactor([secret]))
    store.append(
        "calls",
        "s",
        {
            "text": f"key={secret}",
            "headers": {"Authorization": "Bearer abcdefghijk"},
            "other": "sk-" + "a" * 40,
        },
    )
    [record] = store.read("calls", "s")
    assert secret not in str(record.data)
    assert record.data["headers"]["Authorization"] == "[REDACTED]"
    assert record.data["other"] == "[REDACTED]"
    assert record.data["text"] == "key=[REDACTED]"


def test_a_dialog_logs_itself_through_the_store(kind: str, store: LogStore) -> None:
    dialog = Dialog(session="task", log=store, agent_name="writer")
    dialog.append(user_message("hello"))
    dialog.append(assistant_message("hi", creator="writer"))
    fork = dialog.fork()
    fork.append(user_message("again"))
    fork.flush()  # waits for the parent's records too: they were handed over at the fork
    if kind == "none":
        return
    headers = [r.data for r in store.read("dialogs", "task")]
    assert [h["dialog_id"] for h in headers] == [dialog.dialog_id, fork.dialog_id]
    assert headers[1]["parent_id"] == dialog.dialog_id
    messages = [r.data for r in store.read("messages", "task")]
    assert [(m["dialog_id"], m["index"]) for m in messages] == [
        (dialog.dialog_id, 0),
        (dialog.dialog_id, 1),
        (fork.dialog_id, 2),
    ]
    assert message_from_data(messages[1]["message"]) == dialog[1]


def test_a_tool_message_with_images_reads_back_whole(kind: str, store: LogStore) -> None:
    dialog = Dialog(session="pictures", log=store, agent_name="viewer")
    images = (Image("iVBORw0KGgo="), Image("/9j/4AAQ", "image/jpeg", detail="low"))
    sent = Message(Role.TOOL, "two pictures", "function", tool_call_id="call_1", images=images)
    dialog.append(sent)
    dialog.flush()
    if kind == "none":
        return
    [record] = store.read("messages", "pictures")
    assert message_from_data(record.data["message"]) == sent


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_a_session_listed_under_a_redacted_name_reads_back_by_that_name(
    kind: str, tmp_path: Path
) -> None:
    secret = "very-secret-value-123"
    store = make_store(kind, tmp_path, redactor=Redactor([secret]))
    store.append("messages", f"run {secret}", {"n": 1})
    (listed,) = store.sessions()
    assert listed == "run [REDACTED]"
    assert [r.data for r in store.read("messages", listed)] == [{"n": 1}]
    assert [r.data for r in store.read("messages", f"run {secret}")] == [{"n": 1}]


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_two_secret_names_listed_alike_must_be_read_by_their_real_names(
    kind: str, tmp_path: Path
) -> None:
    store = make_store(kind, tmp_path, redactor=Redactor(["first-secret-1", "second-secret-2"]))
    store.append("messages", "run first-secret-1", {"n": 1})
    store.append("messages", "run second-secret-2", {"n": 2})
    assert store.sessions() == ["run [REDACTED]"]
    with pytest.raises(LogStoreError, match="real names"):
        store.read("messages", "run [REDACTED]")
    assert [r.data for r in store.read("messages", "run second-secret-2")] == [{"n": 2}]
