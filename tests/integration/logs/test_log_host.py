"""The log host: a process that writes the SQLite or file store for the async calls that log to
it at once, so that their commits and syncs never compete with the event loop in this process.
The crash tests run it too (``tests/integration/logs/test_logs_agent_crash.py``, mode
``concurrent``)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lllm_adapters.logs import FileLogStore, LogStoreError, SQLiteLogStore
from lllm_adapters.logs.host_frames import IN_HEADER, OUT_HEADER, STORED
from lllm_adapters.logs.host_link import HostLink
from lllm_adapters.logs.log_host import serve
from lllm_adapters.observability import Redactor
from lllm_adapters.observability.redaction import PLACEHOLDER
from lllm_domain.log_writer import writer_for
from lllm_domain.ports import LogEntry, LogPipeline, is_pipelined_store

from tests.support.concurrent_calls import concurrent_calls

HostedStore = SQLiteLogStore | FileLogStore


def open_store(kind: str, root: Path, **options: Any) -> HostedStore:
    if kind == "sqlite":
        return SQLiteLogStore(root / "logs.sqlite3", redactor=Redactor(), **options)
    return FileLogStore(root, redactor=Redactor(), **options)


@pytest.fixture(params=["sqlite", "localfile"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HostedStore]:
    opened = open_store(request.param, tmp_path)
    yield opened
    opened.close()


def ready(store: HostedStore) -> LogPipeline:
    """The store's pipeline, once its host is up."""
    deadline = time.monotonic() + 30
    while (pipe := store.log_pipeline()) is None:
        assert time.monotonic() < deadline, "the log host never got ready"
        time.sleep(0.01)
    return pipe


def host_of(store: HostedStore) -> Any:
    link = store._link
    assert link is not None and link._proc is not None
    return link._proc


def test_concurrent_calls_log_through_the_host_and_no_writer_thread_starts(
    store: HostedStore,
) -> None:
    assert is_pipelined_store(store)
    pipe = ready(store)
    writer = writer_for(store)

    async def calls() -> None:
        async def one(i: int) -> None:
            writer.submit([LogEntry("messages", f"s{i}", {"turn": 0})])
            await asyncio.sleep(0)
            await writer.aflush([LogEntry("messages", f"s{i}", {"turn": 1})])

        with concurrent_calls(writer, 150):
            await asyncio.gather(*(one(i) for i in range(150)))

    asyncio.run(calls())
    asyncio.run(calls())  # a second event loop takes over reading the confirmations
    assert pipe.last_sent >= 600
    assert writer._thread is None  # its writer started no thread
    assert len(store.sessions()) == 150
    assert [r.data for r in store.read("messages", "s7")] == [{"turn": 0}, {"turn": 1}] * 2


def test_a_blocking_flush_and_concurrent_calls_keep_each_ones_order(store: HostedStore) -> None:
    ready(store)
    writer = writer_for(store)
    errors: list[BaseException] = []

    def blocking() -> None:
        try:
            for i in range(50):
                writer.flush([LogEntry("messages", "thread", {"i": i})])
        except BaseException as error:  # reported below
            errors.append(error)

    async def awaiting(name: str) -> None:
        for i in range(50):
            await writer.aflush([LogEntry("messages", name, {"i": i})])

    async def calls() -> None:
        with concurrent_calls(writer):
            await asyncio.gather(awaiting("loop-a"), awaiting("loop-b"))

    worker = threading.Thread(target=blocking)
    worker.start()
    asyncio.run(calls())
    worker.join(30)
    assert not worker.is_alive() and errors == []
    for session in ("thread", "loop-a", "loop-b"):
        assert [r.data["i"] for r in store.read("messages", session)] == list(range(50))


def test_unstorable_data_fails_its_batch_only(store: HostedStore) -> None:
    ready(store)
    writer = writer_for(store)
    with concurrent_calls(writer):
        bad = writer.submit([LogEntry("messages", "bad", {"x": object()})])
        good = writer.submit([LogEntry("messages", "good", {"ok": True})])
    with pytest.raises(
        LogStoreError, match="cannot store a record in 'messages' for session 'bad'"
    ):
        bad.result()
    good.result()
    assert [r.data for r in store.read("messages", "good")] == [{"ok": True}]
    assert store.read("messages", "bad") == []


def test_a_dead_host_fails_what_it_did_not_confirm_and_later_records_are_written_here(
    store: HostedStore,
) -> None:
    ready(store)
    writer = writer_for(store)
    with concurrent_calls(writer):
        writer.submit([LogEntry("messages", "before", {"i": 0})]).result()
        host = host_of(store)
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        lost = writer.submit([LogEntry("messages", "during", {"i": 1})])
        with pytest.raises(LogStoreError, match=rf"the log host \(pid {host.pid}\) of .*Store"):
            lost.result()
        assert store.log_pipeline() is None  # not used again
        writer.submit([LogEntry("messages", "after", {"i": 2})]).result()
    assert store._link is not None and store._link.broken is not None
    assert [r.data for r in store.read("messages", "before")] == [{"i": 0}]
    assert [r.data for r in store.read("messages", "after")] == [{"i": 2}]


def test_the_secrets_reach_the_host_through_the_pipe_not_its_command_line(
    tmp_path: Path,
) -> None:
    secret = "sk-hosted-secret-0123456789abcdef"
    with SQLiteLogStore(tmp_path / "logs.sqlite3", redactor=Redactor([secret])) as store:
        ready(store)
        writer = writer_for(store)
        with concurrent_calls(writer):
            writer.submit([LogEntry("messages", "s", {"text": f"key={secret}"})]).result()
        cmdline = Path(f"/proc/{host_of(store).pid}/cmdline").read_bytes()
        assert b"log_host" in cmdline
        assert secret.encode() not in cmdline
        (record,) = store.read("messages", "s")
        assert record.data == {"text": f"key={PLACEHOLDER}"}
    assert secret.encode() not in (tmp_path / "logs.sqlite3").read_bytes()


@pytest.mark.parametrize("kind", ["sqlite", "localfile"])
def test_close_lets_the_host_write_sync_and_exit(kind: str, tmp_path: Path) -> None:
    store = open_store(kind, tmp_path)
    ready(store)
    writer = writer_for(store)
    with concurrent_calls(writer):
        for i in range(100):
            writer.submit([LogEntry("messages", "s", {"i": i})])
    host = host_of(store)
    store.close()
    assert host.poll() == 0
    reopened = open_store(kind, tmp_path, log_host=False)
    try:
        assert [r.data["i"] for r in reopened.read("messages", "s")] == list(range(100))
    finally:
        reopened.close()


def test_without_a_log_host_everything_is_written_here(tmp_path: Path) -> None:
    with SQLiteLogStore(tmp_path / "logs.sqlite3", log_host=False) as store:
        assert store.log_pipeline() is None
        writer = writer_for(store)

        async def calls() -> None:
            with concurrent_calls(writer):
                await asyncio.gather(
                    *(writer.aflush([LogEntry("messages", f"s{i}", {"i": i})]) for i in range(20))
                )

        asyncio.run(calls())
        assert store._link is None
        assert len(store.sessions()) == 20


def test_a_host_that_cannot_open_its_store_says_why_and_is_not_used() -> None:
    link = HostLink({"store": "nowhere"}, "a test store")
    deadline = time.monotonic() + 30
    while link.broken is None and time.monotonic() < deadline:
        assert not link.ready()
        time.sleep(0.01)
    assert link.broken is not None
    assert "unknown log store kind 'nowhere'" in link.broken
    assert "a test store" in link.broken
    assert not link.ready()
    link.close()


def test_the_host_syncs_before_confirming_a_sync_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync request (an empty frame) is confirmed only once the host's store has synced
    everything before it (run in this process, on two pipes)."""
    import msgspec

    synced: list[int] = []
    monkeypatch.setattr(SQLiteLogStore, "sync", lambda self: synced.append(len(synced)))
    to_host_r, to_host_w = os.pipe()
    from_host_r, from_host_w = os.pipe()
    host = threading.Thread(target=serve, args=(to_host_r, from_host_w))
    host.start()
    spec = msgspec.msgpack.encode(
        {
            "store": "sqlite",
            "path": str(tmp_path / "logs.sqlite3"),
            "durable": True,
            "wait_for_sync": False,
            "busy_timeout": 5.0,
        }
    )
    batch = msgspec.msgpack.encode([("messages", "s", 1.0, {"i": 1})])
    os.write(to_host_w, IN_HEADER.pack(0, len(spec)) + spec)
    assert OUT_HEADER.unpack(os.read(from_host_r, OUT_HEADER.size)) == (STORED, 0, 0, 0)
    os.write(to_host_w, IN_HEADER.pack(1, len(batch)) + batch)
    assert OUT_HEADER.unpack(os.read(from_host_r, OUT_HEADER.size)) == (STORED, 1, 1, 0)
    assert synced == []  # a batch alone is confirmed once committed
    os.write(to_host_w, IN_HEADER.pack(2, 0))
    assert OUT_HEADER.unpack(os.read(from_host_r, OUT_HEADER.size)) == (STORED, 2, 2, 0)
    assert synced == [0]
    os.close(to_host_w)  # the end of its input: the host closes its store and returns
    host.join(10)
    assert not host.is_alive()
    os.close(to_host_r)
    os.close(from_host_r)
    os.close(from_host_w)
    with SQLiteLogStore(tmp_path / "logs.sqlite3", log_host=False) as reopened:
        assert [r.data for r in reopened.read("messages", "s")] == [{"i": 1}]


def test_a_burst_bigger_than_the_pipe_sent_without_an_event_loop_waits_for_room(
    store: HostedStore,
) -> None:
    """Sent from a thread with no event loop, 4 MB of records (four times the pipe) wait for the
    host to take them, reading its confirmations meanwhile; nothing is lost or reordered."""
    pipe = ready(store)
    text = "x" * 100_000
    tickets = [
        pipe.send_entries([LogEntry("messages", "big", {"i": i, "text": text})]) for i in range(40)
    ]
    pipe.wait_sent(tickets[-1])
    records = store.read("messages", "big")
    assert [r.data["i"] for r in records] == list(range(40))
    assert all(r.data["text"] == text for r in records)
