"""The log writer sends what several async calls log at once through a store's pipeline (a log
host in another process), and keeps one order across both ways in: a batch is written here only
after the host confirmed every batch sent before it, and goes to the host only when nothing
handed over before it is still to be written here."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from lllm_domain.log_writer import writer_for
from lllm_domain.ports import (
    LogEntry,
    LogPipeline,
    PipelinedLogStore,
    is_pipelined_store,
)

from tests.support.concurrent_calls import concurrent_calls
from tests.support.memory_log import MemoryLogStore


class FakePipeline:
    """Takes batches at once and confirms them when the test says (``confirm``): the host."""

    def __init__(self, store: PipelinedStore) -> None:
        self.store = store
        self.sent: list[list[LogEntry]] = []
        self.confirmed = 0
        self.failed: set[int] = set()
        self._cond = threading.Condition()

    @property
    def last_sent(self) -> int:
        return len(self.sent)

    def send_entries(self, entries: Sequence[LogEntry]) -> int:
        with self._cond:
            if entries:
                self.sent.append(list(entries))
            return len(self.sent)

    def confirm(self, upto: int | None = None) -> None:
        """The host commits the batches up to ``upto`` (all sent by default)."""
        with self._cond:
            upto = len(self.sent) if upto is None else upto
            for ticket, batch in enumerate(self.sent[self.confirmed : upto], self.confirmed + 1):
                if ticket in self.failed:
                    continue
                self.store.commits.append(("host", [e.data["n"] for e in batch]))
                for e in batch:
                    self.store.append(e.collection, e.session, e.data)
            self.confirmed = max(self.confirmed, upto)
            self._cond.notify_all()

    def wait_sent(self, ticket: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.confirmed >= ticket, 5), "never confirmed"
        if ticket in self.failed:
            raise OSError(f"the host failed batch {ticket}")

    async def await_sent(self, ticket: int) -> None:
        while self.confirmed < ticket:
            await asyncio.sleep(0.001)
        if ticket in self.failed:
            raise OSError(f"the host failed batch {ticket}")


class PipelinedStore(MemoryLogStore):
    """A memory store with a pipeline, ready once ``ready`` is set; notes each commit and who
    made it (``here`` or ``host``)."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[tuple[str, list[int]]] = []
        self.pipeline = FakePipeline(self)
        self.ready = True
        self.hold = threading.Event()
        """Commits here wait for this (a slow disk) until it is set."""
        self.hold.set()

    def log_pipeline(self) -> LogPipeline | None:
        return self.pipeline if self.ready else None

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        assert self.hold.wait(5)
        self.commits.append(("here", [e.data["n"] for e in entries]))
        for e in entries:
            self.append(e.collection, e.session, e.data)


def entries(*numbers: int) -> list[LogEntry]:
    return [LogEntry("messages", "s", {"n": n}) for n in numbers]


def test_the_port_checks_know_a_pipelined_store() -> None:
    store = PipelinedStore()
    assert is_pipelined_store(store) and isinstance(store, PipelinedLogStore)
    assert isinstance(store.pipeline, LogPipeline)
    assert not is_pipelined_store(MemoryLogStore())


def test_several_async_calls_log_through_the_pipeline_and_no_thread_starts() -> None:
    store = PipelinedStore()
    writer = writer_for(store)

    async def run() -> None:
        async def one(n: int) -> None:
            await writer.aflush(entries(n))

        with concurrent_calls(writer):
            waiting = asyncio.gather(*(one(n) for n in range(5)))
            await asyncio.sleep(0.01)
            assert store.commits == []  # sent, not confirmed: the calls wait
            store.pipeline.confirm()
            await waiting

    asyncio.run(run())
    assert store.commits == [("host", [n]) for n in range(5)]
    assert writer._thread is None
    assert [r.data["n"] for r in store.read("messages", "s")] == [0, 1, 2, 3, 4]


def test_a_lone_call_and_a_pipeline_not_ready_yet_are_written_here() -> None:
    store = PipelinedStore()
    writer = writer_for(store)

    async def run() -> None:
        await writer.aflush(entries(1))  # a lone call
        store.ready = False
        with concurrent_calls(writer):
            await writer.aflush(entries(2))  # the host is not ready

    asyncio.run(run())
    assert store.commits == [("here", [1]), ("here", [2])]
    assert store.pipeline.sent == []


def test_a_batch_written_here_waits_for_the_batches_sent_to_the_host_before_it() -> None:
    store = PipelinedStore()
    writer = writer_for(store)
    with concurrent_calls(writer):
        handed = writer.submit(entries(1))  # to the host, not confirmed yet
    assert len(store.pipeline.sent) == 1
    flushed = threading.Event()

    def flush() -> None:
        writer.flush(entries(2))  # written here: after batch 1 only
        flushed.set()

    worker = threading.Thread(target=flush)
    worker.start()
    assert not flushed.wait(0.1)
    assert store.commits == []
    store.pipeline.confirm()
    worker.join(5)
    assert flushed.is_set()
    handed.result()
    assert store.commits == [("host", [1]), ("here", [2])]


def test_a_batch_handed_over_while_one_is_written_here_follows_it_here() -> None:
    store = PipelinedStore()
    store.hold.clear()  # the write here hangs
    writer = writer_for(store)
    first = writer.submit(entries(1))  # no concurrent calls: written here, by the thread

    async def run() -> None:
        with concurrent_calls(writer):
            later = asyncio.ensure_future(writer.aflush(entries(2)))
            await asyncio.sleep(0.05)
            assert store.pipeline.sent == []  # it did not overtake batch 1
            store.hold.set()
            await later

    asyncio.run(run())
    first.result()
    # Written here, in order (in one commit or two, as the thread found them).
    assert {who for who, _ in store.commits} == {"here"}
    assert [n for _, numbers in store.commits for n in numbers] == [1, 2]


def test_an_empty_flush_waits_for_the_batches_sent_to_the_host() -> None:
    store = PipelinedStore()
    writer = writer_for(store)
    with concurrent_calls(writer):
        writer.submit(entries(1))
    threading.Timer(0.05, store.pipeline.confirm).start()
    writer.flush()  # returns once the host confirmed batch 1
    assert store.commits == [("host", [1])]


def test_a_batch_the_host_failed_raises_for_its_own_waiter() -> None:
    store = PipelinedStore()
    writer = writer_for(store)
    store.pipeline.failed.add(1)

    async def run() -> None:
        with concurrent_calls(writer):
            waiting = asyncio.ensure_future(writer.aflush(entries(1)))
            await asyncio.sleep(0)
            store.pipeline.confirm()
            with pytest.raises(OSError, match="the host failed batch 1"):
                await waiting
            # The writer goes on: the next batch is sent and stored.
            second = asyncio.ensure_future(writer.aflush(entries(2)))
            await asyncio.sleep(0)
            store.pipeline.confirm()
            await second

    asyncio.run(run())
    assert store.commits == [("host", [2])]
