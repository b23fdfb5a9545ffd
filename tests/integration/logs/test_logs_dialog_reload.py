"""A dialog rebuilt from plain data keeps logging readably, into the same or another store."""

from __future__ import annotations

from pathlib import Path

from lllm_adapters.logs import SQLiteLogStore
from lllm_domain.dialog import DIALOGS, Dialog
from lllm_domain.replay import ReplaySession


def test_a_dialog_rebuilt_into_a_store_that_never_saw_it_reads_back_whole(
    tmp_path: Path,
) -> None:
    original = Dialog(session="orig")
    original.send_message("first")
    original.send_message("second")
    store = SQLiteLogStore(tmp_path / "logs.sqlite3")

    again = Dialog.from_data(original.to_data(), log=store)
    again.send_message("third")
    again.flush()

    run = ReplaySession(store, "orig")
    assert [m.content for m in run.messages(original.dialog_id)] == ["first", "second", "third"]


def test_a_dialog_continued_from_its_own_log_writes_no_second_header(tmp_path: Path) -> None:
    store = SQLiteLogStore(tmp_path / "logs.sqlite3")
    dialog = Dialog(session="s", log=store)
    dialog.send_message("first")
    dialog.flush()

    continued = ReplaySession(store, "s").dialog(dialog.dialog_id, log=store)
    continued.send_message("second")
    continued.flush()

    headers = [r.data for r in store.read(DIALOGS, "s")]
    assert [h["dialog_id"] for h in headers] == [dialog.dialog_id]
    contents = [m.content for m in ReplaySession(store, "s").messages(dialog.dialog_id)]
    assert contents == ["first", "second"]
