"""The cell-run machine with no kernel at all: each transition of its table, then whole runs
as scripts of (event -> expected action), then the events each phase refuses."""

from __future__ import annotations

from typing import Any

import pytest
from lllm_adapters.jupyter.cell_run import (
    ACCEPTS,
    MIN_WAIT,
    AliveChecked,
    Await,
    CellRun,
    CellRunProtocolError,
    CheckAlive,
    Drained,
    DrainReply,
    Event,
    Execute,
    Executed,
    Finished,
    InitRan,
    Interrupt,
    Interrupted,
    Phase,
    Quiet,
    Received,
    Record,
    Recorded,
    Restarted,
    RestartKernel,
    RunInit,
)
from lllm_domain.sandbox import RunResult, RunStatus

MSG = "req-1"
POLL = 0.2


def _iopub(msg_type: str, content: dict[str, Any], parent: str = MSG) -> dict[str, Any]:
    return {
        "parent_header": {"msg_id": parent},
        "header": {"msg_type": msg_type},
        "content": content,
    }


OUT = _iopub("stream", {"name": "stdout", "text": "hi\n"})
RAISED = _iopub("error", {"ename": "ValueError", "evalue": "x", "traceback": []})
IDLE = _iopub("status", {"execution_state": "idle"})
OTHERS = _iopub("status", {"execution_state": "idle"}, parent="someone-else")


def _result(status: RunStatus, restarted: bool = False) -> RunResult:
    return RunResult(index=1, status=status, kernel_restarted=restarted)


def _run(timeout: float | None = 10.0, reinit: bool = True) -> CellRun:
    return CellRun("code", timeout=timeout, interrupt_grace=2.0, reinit=reinit, poll_interval=POLL)


Step = tuple[Event, object]
"""An event, and the action the machine must answer with (a type, or an equal value)."""


def _at(run: CellRun, phase: Phase) -> bool:
    return run.phase is phase


def _play(run: CellRun, steps: list[Step]) -> None:
    assert run.start() == Execute("code")
    for i, (event, expected) in enumerate(steps):
        action = run.send(event)
        if isinstance(expected, type):
            assert type(action) is expected, f"step {i}: {event!r} -> {action!r}"
        else:
            assert action == expected, f"step {i}: {event!r} -> {action!r}"


# -- single transitions: (phase before, event) -> (phase after, action) ----------------------

OK_TO_WAITING: list[Step] = [(Executed(MSG, now=100.0), Await(POLL))]

TRANSITIONS: list[tuple[str, list[Step], Event, Phase, object]] = [
    ("executed starts the wait", [], Executed(MSG, 100.0), Phase.WAITING, Await(POLL)),
    ("a message, not the last", OK_TO_WAITING, Received(OUT, 100.1), Phase.WAITING, Await(POLL)),
    ("others' messages are ignored", OK_TO_WAITING, Received(OTHERS, 100.1), Phase.WAITING, Await),
    ("idle: read the reply", OK_TO_WAITING, Received(IDLE, 100.1), Phase.DRAINING, DrainReply(MSG)),
    ("quiet: check the kernel", OK_TO_WAITING, Quiet(100.2), Phase.CHECKING, CheckAlive()),
    (
        "alive, before the deadline",
        [*OK_TO_WAITING, (Quiet(100.2), CheckAlive)],
        AliveChecked(True, 100.2),
        Phase.WAITING,
        Await(POLL),
    ),
    (
        "the wait shrinks near the deadline",
        [*OK_TO_WAITING, (Quiet(109.9), CheckAlive)],
        AliveChecked(True, 109.95),
        Phase.WAITING,
        Await(pytest.approx(0.05)),  # type: ignore[arg-type]
    ),
    (
        "dead: record, then restart",
        [*OK_TO_WAITING, (Quiet(100.2), CheckAlive)],
        AliveChecked(False, 100.2),
        Phase.RECORDING,
        Record,
    ),
    (
        "alive past the deadline: interrupt",
        [*OK_TO_WAITING, (Quiet(110.0), CheckAlive)],
        AliveChecked(True, 110.0),
        Phase.INTERRUPTING,
        Interrupt(),
    ),
    (
        "output past the deadline: interrupt (a chatty cell times out too)",
        OK_TO_WAITING,
        Received(OUT, 110.5),
        Phase.INTERRUPTING,
        Interrupt(),
    ),
    (
        "interrupted: wait out the grace",
        [*OK_TO_WAITING, (Received(OUT, 110.5), Interrupt)],
        Interrupted(110.5),
        Phase.WAITING,
        Await(POLL),
    ),
    (
        "grace over: record, then restart",
        [*OK_TO_WAITING, (Received(OUT, 110.5), Interrupt), (Interrupted(110.5), Await)],
        Received(OUT, 112.5),
        Phase.RECORDING,
        Record,
    ),
    (
        "drained: record",
        [*OK_TO_WAITING, (Received(IDLE, 100.1), DrainReply)],
        Drained(),
        Phase.RECORDING,
        Record,
    ),
]


@pytest.mark.parametrize(
    ("steps", "event", "phase", "action"),
    [t[1:] for t in TRANSITIONS],
    ids=[t[0] for t in TRANSITIONS],
)
def test_transition(steps: list[Step], event: Event, phase: Phase, action: object) -> None:
    run = _run()
    _play(run, steps)
    got = run.send(event)
    assert run.phase is phase
    if isinstance(action, type):
        assert type(got) is action
    else:
        assert got == action


def test_no_timeout_waits_a_poll_interval_forever() -> None:
    run = _run(timeout=None)
    _play(run, [(Executed(MSG, 0.0), Await(POLL))])
    for now in (1e3, 1e6):
        assert run.send(Quiet(now)) == CheckAlive()
        assert run.send(AliveChecked(True, now)) == Await(POLL)


def test_a_deadline_just_passed_still_polls_once() -> None:
    run = _run(timeout=0.0)
    assert run.start() == Execute("code")
    assert run.send(Executed(MSG, 5.0)) == Await(MIN_WAIT)


# -- whole runs: how each ends ---------------------------------------------------------------

ENDINGS: list[tuple[str, list[Step], RunStatus, bool]] = [
    (
        "ok",
        [
            (Executed(MSG, 0.0), Await),
            (Received(OUT, 0.1), Await),
            (Received(IDLE, 0.2), DrainReply),
            (Drained(), Record),
        ],
        RunStatus.OK,
        False,
    ),
    (
        "the cell raised",
        [
            (Executed(MSG, 0.0), Await),
            (Received(RAISED, 0.1), Await),
            (Received(IDLE, 0.2), DrainReply),
            (Drained(), Record),
        ],
        RunStatus.ERROR,
        False,
    ),
    (
        "timeout: the interrupt stopped it",
        [
            (Executed(MSG, 0.0), Await),
            (Quiet(10.0), CheckAlive),
            (AliveChecked(True, 10.0), Interrupt),
            (Interrupted(10.0), Await),
            (Received(_iopub("error", {"ename": "KeyboardInterrupt"}), 10.1), Await),
            (Received(IDLE, 10.2), DrainReply),
            (Drained(), Record),
        ],
        RunStatus.TIMEOUT,
        False,
    ),
    (
        "timeout: the cell ignored the interrupt",
        [
            (Executed(MSG, 0.0), Await),
            (Quiet(10.0), CheckAlive),
            (AliveChecked(True, 10.0), Interrupt),
            (Interrupted(10.0), Await),
            (Quiet(12.0), CheckAlive),
            (AliveChecked(True, 12.0), Record),
        ],
        RunStatus.TIMEOUT,
        True,
    ),
    (
        "the kernel died",
        [(Executed(MSG, 0.0), Await), (Quiet(0.2), CheckAlive), (AliveChecked(False, 0.2), Record)],
        RunStatus.KERNEL_DIED,
        True,
    ),
    (
        "the kernel died after the interrupt",
        [
            (Executed(MSG, 0.0), Await),
            (Quiet(10.0), CheckAlive),
            (AliveChecked(True, 10.0), Interrupt),
            (Interrupted(10.0), Await),
            (Quiet(10.2), CheckAlive),
            (AliveChecked(False, 10.2), Record),
        ],
        RunStatus.KERNEL_DIED,
        True,
    ),
]


@pytest.mark.parametrize(
    ("steps", "status", "restart"), [e[1:] for e in ENDINGS], ids=[e[0] for e in ENDINGS]
)
def test_run_ends(steps: list[Step], status: RunStatus, restart: bool) -> None:
    run = _run()
    assert run.start() == Execute("code")
    action: object = None
    for event, expected in steps:
        action = run.send(event)
        assert type(action) is expected, f"{event!r} -> {action!r}"
    assert isinstance(action, Record)
    assert (action.status, action.kernel_restarted) == (status, restart)
    assert action.collector is run.collector
    result = _result(status, restart)
    after = run.send(Recorded(result))
    if restart:
        assert after == RestartKernel() and _at(run, Phase.RESTARTING)
        assert run.send(Restarted()) == RunInit() and _at(run, Phase.REINITIALISING)
        after = run.send(InitRan())
    assert after == Finished(result) and _at(run, Phase.DONE)


def test_the_init_cell_itself_is_not_rerun_after_its_restart() -> None:
    run = _run(reinit=False)
    _play(run, [(Executed(MSG, 0.0), Await), (Quiet(0.2), CheckAlive)])
    assert isinstance(run.send(AliveChecked(False, 0.2)), Record)
    result = _result(RunStatus.KERNEL_DIED, restarted=True)
    assert run.send(Recorded(result)) == RestartKernel()
    assert run.send(Restarted()) == Finished(result)


def test_outputs_are_collected_for_the_record() -> None:
    run = _run()
    _play(run, [(Executed(MSG, 0.0), Await), (Received(OUT, 0.1), Await)])
    record = run.send(Received(IDLE, 0.2))
    assert record == DrainReply(MSG)
    record = run.send(Drained())
    assert isinstance(record, Record)
    assert record.collector.outputs == [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]


# -- refused events --------------------------------------------------------------------------

EVENTS: list[Event] = [
    Executed(MSG, 0.0),
    Received(OUT, 0.0),
    Quiet(0.0),
    AliveChecked(True, 0.0),
    Interrupted(0.0),
    Drained(),
    Recorded(_result(RunStatus.OK)),
    Restarted(),
    InitRan(),
]

REACH: dict[Phase, list[Step]] = {
    Phase.EXECUTING: [],
    Phase.WAITING: [(Executed(MSG, 0.0), Await)],
    Phase.CHECKING: [(Executed(MSG, 0.0), Await), (Quiet(0.2), CheckAlive)],
    Phase.INTERRUPTING: [(Executed(MSG, 0.0), Await), (Received(OUT, 11.0), Interrupt)],
    Phase.DRAINING: [(Executed(MSG, 0.0), Await), (Received(IDLE, 0.1), DrainReply)],
    Phase.RECORDING: [
        (Executed(MSG, 0.0), Await),
        (Received(IDLE, 0.1), DrainReply),
        (Drained(), Record),
    ],
    Phase.RESTARTING: [
        (Executed(MSG, 0.0), Await),
        (Quiet(0.2), CheckAlive),
        (AliveChecked(False, 0.2), Record),
        (Recorded(_result(RunStatus.KERNEL_DIED, True)), RestartKernel),
    ],
    Phase.REINITIALISING: [
        (Executed(MSG, 0.0), Await),
        (Quiet(0.2), CheckAlive),
        (AliveChecked(False, 0.2), Record),
        (Recorded(_result(RunStatus.KERNEL_DIED, True)), RestartKernel),
        (Restarted(), RunInit),
    ],
    Phase.DONE: [
        (Executed(MSG, 0.0), Await),
        (Received(IDLE, 0.1), DrainReply),
        (Drained(), Record),
        (Recorded(_result(RunStatus.OK)), Finished),
    ],
}

REFUSED = [
    (phase, event)
    for phase, steps in REACH.items()
    for event in EVENTS
    if type(event) not in ACCEPTS[phase]
]


@pytest.mark.parametrize(
    ("phase", "event"), REFUSED, ids=[f"{p.value}-{type(e).__name__}" for p, e in REFUSED]
)
def test_an_event_the_phase_does_not_accept_is_a_typed_error_naming_the_phase(
    phase: Phase, event: Event
) -> None:
    run = _run()
    _play(run, REACH[phase])
    assert run.phase is phase
    with pytest.raises(
        CellRunProtocolError, match=f"phase '{phase.value}'.*{type(event).__name__}"
    ):
        run.send(event)
    assert run.phase is Phase.FAILED
    with pytest.raises(CellRunProtocolError, match="phase 'failed'"):
        run.send(event)


def test_every_phase_but_the_ends_accepts_something_and_each_is_reached() -> None:
    assert set(REACH) | {Phase.READY, Phase.FAILED} == set(Phase)
    assert [p for p, accepted in ACCEPTS.items() if not accepted] == [
        Phase.READY,
        Phase.DONE,
        Phase.FAILED,
    ]


def test_a_run_starts_once() -> None:
    run = _run()
    run.start()
    with pytest.raises(CellRunProtocolError, match=r"phase 'executing'.*starts once"):
        run.start()
    assert run.phase is Phase.FAILED
