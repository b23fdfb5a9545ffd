"""All I/O at the edges: the machine records what to log and the drivers write it (one batch per
turn, off the event loop under ``acall``, all of it when a call ends, raises or is cancelled);
tools of one reply run at once under ``acall``; callers that break the port's contract."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from attrs import evolve
from lllm_domain.agent_call import AgentCall, CallModel, ModelReplied
from lllm_domain.dialog import DIALOGS, MESSAGES, Dialog
from lllm_domain.errors import CallerContractError, ParseRetriesExhaustedError
from lllm_domain.function import Function
from lllm_domain.limits import CallLimits
from lllm_domain.log_writer import writer_for
from lllm_domain.message import Message, Role
from lllm_domain.ports import LLMCaller, LogEntry, LogStore
from lllm_domain.request import LLMRequest
from lllm_domain.testing import FakeClock, ScriptedCaller, api_error, call, tool_calls

from tests.support.domain_builders import answer_prompt, make_agent
from tests.support.memory_log import MemoryLogStore

ANSWER = "<answer>5</answer>"


class WatchedStore(MemoryLogStore):
    """A batch-writing in-memory store that notes which thread wrote each batch."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.single_appends = 0
        self.threads: set[int] = set()

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        self.single_appends += 1
        self.threads.add(threading.get_ident())
        super().append(collection, session, data)

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        self.threads.add(threading.get_ident())
        self.batches.append(len(entries))
        for e in entries:
            super().append(e.collection, e.session, e.data)


def _add_prompt(seen: list[tuple[int, int]] | None = None) -> Any:
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: the first number
            b: the second number
        """
        if seen is not None:
            seen.append((a, b))
        return a + b

    return answer_prompt(functions=[Function.from_callable(add)])


# -- records, not writes -----------------------------------------------------------------------


def test_the_machine_records_and_writes_nothing_itself() -> None:
    store = WatchedStore()
    dialog = Dialog(session="s", log=store, ids=lambda: "d")
    dialog.send_prompt(answer_prompt(), {"question": "q"})
    machine = AgentCall(dialog, model="m", agent_name="a")
    assert isinstance(machine.start(), CallModel)
    with pytest.raises(StopIteration):
        machine.send(ModelReplied(Message(Role.ASSISTANT, ANSWER, "a")))
    assert store.batches == [] and store.single_appends == 0
    assert [e.collection for e in dialog.pending_records] == [DIALOGS, MESSAGES, MESSAGES]
    machine.flush()
    assert [r.data["index"] for r in store.read(MESSAGES, "s")] == [0, 1]
    assert dialog.pending_records == ()


class TickingClock(FakeClock):
    """A fake clock where every reading is a second later: every turn looks slow."""

    def now(self) -> float:
        self.time += 1.0
        return self.time


def test_slow_turns_are_handed_over_one_batch_each_and_all_is_written_before_return() -> None:
    store = WatchedStore()
    agent, caller, _ = make_agent(
        [tool_calls(call("add", a=2, b=3)), ANSWER], log_store=store, clock=TickingClock()
    )
    dialog = agent.init_dialog(session="s")
    outboxes: list[int] = []
    scripted = caller.call

    def watching(request: LLMRequest) -> Message:
        outboxes.append(len(dialog.pending_records))
        return scripted(request)

    caller.call = watching  # type: ignore[method-assign]
    result = agent.call(dialog, _add_prompt(), {"question": "q"})
    # Before each request the turn so far was handed to the writer...
    assert outboxes == [0, 0]
    # ...and everything the call appended is stored when it returns.
    stored = store.read(MESSAGES, "s")
    assert [r.data["index"] for r in stored] == list(range(len(result.dialog)))
    # Whole turns in batches (the writer may group them further), never a write per record.
    assert store.single_appends == 0
    assert 1 <= len(store.batches) <= 4 and sum(store.batches) == 6


def test_quick_turns_are_written_in_one_transaction_when_the_call_ends() -> None:
    store = WatchedStore()
    agent, _, _ = make_agent([tool_calls(call("add", a=2, b=3)), ANSWER], log_store=store)
    agent.call(agent.init_dialog(session="s"), _add_prompt(), {"question": "q"})
    assert store.batches == [6] and store.single_appends == 0


def test_records_are_handed_over_before_a_backoff_sleep() -> None:
    store = WatchedStore()
    agent, caller, _ = make_agent([api_error(503, retry_after=5.0), ANSWER], log_store=store)
    dialog = agent.init_dialog(session="s")
    seen: list[int] = []
    scripted = caller.call

    def watching(request: LLMRequest) -> Message:
        seen.append(len(dialog.pending_records))
        return scripted(request)

    caller.call = watching  # type: ignore[method-assign]
    agent.call(dialog, answer_prompt(), {"question": "q"})
    assert seen == [3, 0]  # nothing handed over before the first request; all before the retry


def test_acall_never_writes_on_the_event_loop_thread() -> None:
    store = WatchedStore()
    agent, _, _ = make_agent([tool_calls(call("add", a=2, b=3)), ANSWER], log_store=store)

    async def main() -> int:
        result = await agent.acall(agent.init_dialog(session="s"), _add_prompt(), {"question": "q"})
        return len(result.dialog)

    loop_thread = threading.get_ident()
    length = asyncio.run(main())
    assert store.threads and loop_thread not in store.threads
    assert len(store.read(MESSAGES, "s")) == length


def test_a_call_that_raises_has_written_its_attempts_and_its_error_report() -> None:
    store = WatchedStore()
    agent, _, _ = make_agent(
        ["no tag", "still none"], log_store=store, limits=CallLimits(max_exception_retry=1)
    )
    with pytest.raises(ParseRetriesExhaustedError):
        agent.call(agent.init_dialog(session="s"), answer_prompt(), {"question": "q"})
    contents = [r.data["message"]["content"] for r in store.read(MESSAGES, "s")]
    assert "no tag" in contents  # the failed attempt, on the logged working copy
    (report,) = store.read("errors", "s")
    assert report.data["error_type"] == "ParseRetriesExhaustedError"


def test_a_cancelled_acall_has_written_its_records() -> None:
    store = WatchedStore()
    scripted = ScriptedCaller([tool_calls(call("add", a=2, b=3))])
    started = asyncio.Event()

    class Hanging:
        async def acall(self, request: LLMRequest) -> Message:
            if not scripted.requests:
                return await scripted.acall(request)
            started.set()
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    agent, _, _ = make_agent(log_store=store)
    agent.caller = Hanging()

    async def main() -> None:
        task = asyncio.create_task(
            agent.acall(agent.init_dialog(session="s"), _add_prompt(), {"question": "q"})
        )
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    roles = [r.data["message"]["role"] for r in store.read(MESSAGES, "s")]
    assert roles == ["system", "user", "tool_call", "tool"]


class _FailingStore(MemoryLogStore):
    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        raise OSError("disk full")


def test_a_failed_write_is_raised_not_lost_silently() -> None:
    agent, _, _ = make_agent([ANSWER], log_store=_FailingStore())
    with pytest.raises(OSError, match="disk full"):
        agent.call(agent.init_dialog(session="s"), answer_prompt(), {"question": "q"})


def test_a_failed_write_after_an_agent_error_is_noted_on_that_error() -> None:
    agent, _, _ = make_agent(["no tag"], log_store=_FailingStore(), limits=CallLimits(0))
    with pytest.raises(ParseRetriesExhaustedError) as info:
        agent.call(agent.init_dialog(session="s"), answer_prompt(), {"question": "q"})
    notes = "\n".join(info.value.__notes__)
    assert "could not all be written" in notes and "disk full" in notes


def test_log_store_is_runtime_checkable() -> None:
    assert isinstance(MemoryLogStore(), LogStore)
    assert not isinstance(object(), LogStore)


# -- callers that break the contract -----------------------------------------------------------


class _WrongCaller:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def call(self, request: LLMRequest) -> Message:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome  # type: ignore[no-any-return]

    async def acall(self, request: LLMRequest) -> Message:
        return self.call(request)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("outcome", "says"),
    [("just text", "returned str"), (KeyError("choices"), "raised KeyError")],
)
def test_a_caller_breaking_the_contract_gets_a_typed_error_that_keeps_the_dialog(
    mode: str, outcome: Any, says: str
) -> None:
    store = MemoryLogStore()
    agent, _, _ = make_agent(log_store=store)
    agent.caller = _WrongCaller(outcome)
    assert isinstance(agent.caller, LLMCaller)
    dialog = agent.init_dialog(session="s")
    with pytest.raises(CallerContractError, match=says) as info:
        if mode == "sync":
            agent.call(dialog, answer_prompt(), {"question": "q"})
        else:
            asyncio.run(agent.acall(dialog, answer_prompt(), {"question": "q"}))
    assert info.value.dialog is dialog and len(dialog) == 2
    if isinstance(outcome, BaseException):
        assert info.value.__cause__ is outcome
    (report,) = store.read("errors", "s")
    assert report.data["error_type"] == "CallerContractError"


# -- tools of one reply run at once under acall ------------------------------------------------


class _InFlight:
    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def _parallel_prompt(flight: _InFlight) -> Any:
    async def fetch(key: str) -> str:
        """Fetch a key.

        Args:
            key: the key
        """
        flight.enter()
        await asyncio.sleep(0.05)
        flight.leave()
        return key.upper()

    barrier = threading.Barrier(2, timeout=10)

    def lookup(key: str) -> str:
        """Look a key up in a slow database.

        Args:
            key: the key
        """
        barrier.wait()  # passes only when both blocking calls run at the same time
        return key * 2

    return answer_prompt(
        functions=[
            Function.from_callable(fetch),
            evolve(Function.from_callable(lookup), blocking=True),
        ]
    )


SCRIPT = [
    tool_calls(
        call("fetch", key="a"),
        call("lookup", key="x"),
        call("fetch", key="b"),
        call("lookup", key="y"),
        call("fetch", key="a"),
    ),
    ANSWER,
]


def test_parallel_tool_calls_run_at_once_under_acall_in_the_models_order() -> None:
    flight = _InFlight()
    agent, _, _ = make_agent(SCRIPT)
    result = asyncio.run(
        agent.acall(agent.init_dialog(), _parallel_prompt(flight), {"question": "q"})
    )
    assert flight.most == 2  # both async fetches were in flight together
    trace = result.function_calls
    assert [c.result for c in trace] == ["A", "xx", "B", "yy", "A"]
    assert [c.repeated_of for c in trace] == [None, None, None, None, trace[0].id]
    tool_messages = [m.tool_call_id for m in result.dialog if m.role is Role.TOOL]
    assert tool_messages == [c.id for c in trace]


def test_max_parallel_tools_bounds_the_async_tools_in_flight() -> None:
    flight = _InFlight()
    agent, _, _ = make_agent(
        [
            tool_calls(call("fetch", key="a"), call("fetch", key="b"), call("fetch", key="c")),
            ANSWER,
        ],
        limits=CallLimits(max_parallel_tools=1),
    )
    prompt = answer_prompt(
        functions=[f for f in _parallel_prompt(flight).functions if f.name == "fetch"]
    )
    asyncio.run(agent.acall(agent.init_dialog(), prompt, {"question": "q"}))
    assert flight.most == 1


def test_sync_and_async_transcripts_match_with_parallel_tools() -> None:
    def transcript(mode: str) -> list[tuple[str, str]]:
        prompt = _parallel_prompt(_InFlight())
        # Sync runs tools one by one and cannot await: give it plain functions with the same
        # results (the blocking lookup waits for a partner at a barrier).
        if mode == "sync":
            prompt = prompt.link_function("lookup", lambda key: key * 2)
            prompt = prompt.link_function("fetch", lambda key: key.upper())
        agent, _, _ = make_agent(SCRIPT)
        dialog = agent.init_dialog()
        if mode == "sync":
            result = agent.call(dialog, prompt, {"question": "q"})
        else:
            result = asyncio.run(agent.acall(dialog, prompt, {"question": "q"}))
        return [(m.role.value, m.content) for m in result.dialog]

    assert transcript("sync") == transcript("async")


def test_the_trace_marks_repeated_calls_so_real_executions_can_be_counted() -> None:
    seen: list[tuple[int, int]] = []
    agent, _, _ = make_agent(
        [
            tool_calls(call("add", a=1, b=1), call("add", a=1, b=1)),
            tool_calls(call("add", a=1, b=1), call("add", a=2, b=2)),
            ANSWER,
        ]
    )
    result = agent.call(agent.init_dialog(), _add_prompt(seen), {"question": "q"})
    first = result.function_calls[0]
    assert [c.repeated_of for c in result.function_calls] == [None, first.id, first.id, None]
    assert sum(c.repeated_of is None for c in result.function_calls) == len(seen) == 2


def test_a_forked_child_writes_its_own_records() -> None:
    import os

    store = WatchedStore()
    dialog = Dialog(session="s", log=store, ids=lambda: "d")
    dialog.send_message("before the fork")
    dialog.hand_over()  # the parent's writer thread is running now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its writes must not wait for a thread it does not have
        child = Dialog(session="c", log=store, ids=lambda: "k")
        child.send_message("in the child")
        child.hand_over()  # to the background thread, which the child must start anew
        try:
            writer_for(store).submit([]).result(timeout=5)
            os.write(write, str(len(store.read(MESSAGES, "c"))).encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 16) == b"1" and status == 0
    dialog.flush()
    assert len(store.read(MESSAGES, "s")) == 1


def test_a_dialog_dropped_with_records_in_its_outbox_hands_them_over() -> None:
    import gc

    store = WatchedStore()
    dialog = Dialog(session="s", log=store, ids=lambda: "d")
    dialog.send_message("never flushed by hand")
    del dialog
    gc.collect()
    writer_for(store).flush()
    assert [r.data["message"]["content"] for r in store.read(MESSAGES, "s")] == [
        "never flushed by hand"
    ]


def test_closing_a_sqlite_store_writes_what_was_handed_to_it(tmp_path: Any) -> None:
    from lllm_adapters.logs import SQLiteLogStore
    from lllm_domain.recording import RecordingCaller

    store = SQLiteLogStore(tmp_path / "logs.sqlite3")
    recorder = RecordingCaller(ScriptedCaller(["hello"]), store, session="rec")
    agent, _, _ = make_agent()  # logs nowhere: only the recorder writes to the store
    agent.caller = recorder
    agent.call(agent.init_dialog(), "hi")
    store.close()
    with SQLiteLogStore(tmp_path / "logs.sqlite3") as again:
        assert len(again.read("calls", "rec")) == 1


def test_concurrent_acalls_are_group_committed_and_a_lone_one_is_not_held_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While several async calls log to one store, the writer waits a moment once woken so
    their records go in together: far fewer transactions than calls. Every record arrives. A
    lone call's records are written without that wait."""
    from lllm_domain import log_writer

    waits: list[float] = []
    real_sleep = log_writer.time.sleep

    def noted_sleep(seconds: float) -> None:
        waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(log_writer.time, "sleep", noted_sleep)
    store = WatchedStore()
    agent, scripted, _ = make_agent([ANSWER] * 40, log_store=store)

    class Staggered:
        """Replies arrive spread over ~40 ms, as a real server's would."""

        def __init__(self) -> None:
            self.n = 0

        async def acall(self, request: LLMRequest) -> Message:
            self.n += 1
            await asyncio.sleep(0.001 * self.n)
            return scripted.call(request)

    agent.caller = Staggered()  # type: ignore[assignment]

    async def main() -> None:
        await asyncio.gather(
            *(
                agent.acall(agent.init_dialog(session=f"s{i}"), answer_prompt(), {"question": "q"})
                for i in range(40)
            )
        )

    asyncio.run(main())
    assert all(len(store.read(MESSAGES, f"s{i}")) >= 2 for i in range(40))
    assert len(store.batches) < 16, store.batches  # one per call without the window
    assert writer_for(store)._active_calls == 0
    assert log_writer.GROUP_COMMIT_WINDOW in waits

    waits.clear()
    lone = WatchedStore()
    agent, _, _ = make_agent([tool_calls(call("add", a=2, b=3)), ANSWER], log_store=lone)

    async def one() -> None:
        await agent.acall(agent.init_dialog(session="lone"), _add_prompt(), {"question": "q"})

    asyncio.run(one())
    assert writer_for(lone)._active_calls == 0 and lone.batches
    assert log_writer.GROUP_COMMIT_WINDOW not in waits


class _SlowStore(MemoryLogStore):
    """Each write takes a while, so the awaits of many coroutines pile up behind one."""

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        threading.Event().wait(0.05)
        super().append_many(collection, session, records)


def test_coroutines_a_write_finishes_are_woken_together_not_one_by_one() -> None:
    store = _SlowStore()
    writer = writer_for(store)
    wakes: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
            wakes.append(len(args[0]) if args and isinstance(args[0], list) else 1)
            return original(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        await asyncio.gather(
            *(writer.aflush([LogEntry(MESSAGES, f"s{i}", {"n": i}, 0.0)]) for i in range(30))
        )

    asyncio.run(main())
    assert all(store.read(MESSAGES, f"s{i}") for i in range(30))
    assert sum(wakes) == 30  # every coroutine was woken
    assert len(wakes) <= 3, wakes  # by one wake-up per write, not one each
