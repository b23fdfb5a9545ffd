"""The cell-run policy: one cell's run on a Jupyter kernel as a sans-IO state machine.

Everything that decides how a run ends lives here: how long to wait for the kernel's next
message, when to check that the kernel is still alive, when to interrupt a cell past its
timeout, how long the interrupted cell may take to stop (``interrupt_grace``), and when the
kernel is restarted instead (a cell that ignores the interrupt, a kernel that died). The machine
reads no clock and touches no socket: it emits one *action* at a time and a driver performs it
and feeds the outcome back as an *event* (which carries the driver's clock reading).

::

    READY --start--> EXECUTING --Executed--> WAITING
    WAITING --Received (not finished, before the deadline)--> WAITING
    WAITING --Received (finished)--> DRAINING --Drained--> RECORDING
    WAITING --Quiet--> CHECKING --AliveChecked(alive, before the deadline)--> WAITING
    WAITING/CHECKING past the deadline, not yet interrupted --> INTERRUPTING --Interrupted-->
        WAITING (the deadline is now + interrupt_grace)
    WAITING/CHECKING past the deadline, already interrupted --> RECORDING (timeout, restart)
    CHECKING --AliveChecked(dead)--> RECORDING (kernel_died, restart)
    RECORDING --Recorded--> DONE, or RESTARTING --Restarted--> DONE, or REINITIALISING
        --InitRan--> DONE

The outputs are recorded *before* a restart, so a restart that fails still leaves them in the
notebook. An event the current phase does not accept is a :class:`CellRunProtocolError` naming
the phase, and the machine is then ``FAILED``: every later call says so.

The drivers are :class:`~lllm_adapters.jupyter.session.JupyterSession` (blocking) and
:class:`~lllm_adapters.jupyter.async_session.AsyncJupyterSession` (async); the session core in
:mod:`lllm_adapters.jupyter.kernel_session` performs :class:`Record` and :class:`RunInit`
itself, the same for both.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from attrs import define, evolve, field
from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import RunResult, RunStatus

from lllm_adapters.jupyter.output_collector import DEFAULT_MAX_OUTPUT_CHARS, OutputCollector

POLL_INTERVAL = 0.2
"""Longest wait (seconds) for a kernel message before the machine checks the kernel is alive."""

MIN_WAIT = 0.001
"""Shortest wait (seconds) the machine asks for, so a deadline just passed still polls once."""


class CellRunProtocolError(SandboxError):
    """A driver fed the cell-run machine an event its phase does not accept (or drove a machine
    that has already ended). A bug in the driver, never in the cell's code."""


class Phase(enum.StrEnum):
    """Where a cell run stands."""

    READY = "ready"
    """Built; nothing sent to the kernel yet."""
    EXECUTING = "executing"
    """The execute request is being sent."""
    WAITING = "waiting"
    """Waiting for the cell's next message."""
    CHECKING = "checking"
    """No message came in time: checking that the kernel is alive."""
    INTERRUPTING = "interrupting"
    """The cell ran past its deadline: the interrupt is being sent."""
    DRAINING = "draining"
    """The cell finished: its shell reply is being read."""
    RECORDING = "recording"
    """The outputs are being written into the notebook."""
    RESTARTING = "restarting"
    """The kernel is being restarted (it died, or ignored the interrupt)."""
    REINITIALISING = "reinitialising"
    """The init cell is being re-run on the restarted kernel."""
    DONE = "done"
    """Finished: the result was handed over."""
    FAILED = "failed"
    """Broken by an unexpected event; every later call raises."""


# -- actions (machine -> driver) -----------------------------------------------------------


@define(frozen=True, slots=True)
class Execute:
    """Action: send an execute request for ``source``; answer :class:`Executed`."""

    source: str


@define(frozen=True, slots=True)
class Await:
    """Action: wait at most ``timeout`` seconds for the next IOPub message; answer
    :class:`Received` or, if none came, :class:`Quiet`."""

    timeout: float


@define(frozen=True, slots=True)
class CheckAlive:
    """Action: check whether the kernel is alive; answer :class:`AliveChecked`."""


@define(frozen=True, slots=True)
class Interrupt:
    """Action: interrupt the running cell; answer :class:`Interrupted`."""


@define(frozen=True, slots=True)
class DrainReply:
    """Action: read the shell reply to request ``msg_id`` (so stale replies do not pile up);
    answer :class:`Drained`."""

    msg_id: str


@define(frozen=True, slots=True)
class Record:
    """Action: write the collected outputs into the notebook with ``status``; answer
    :class:`Recorded` with the run's result."""

    status: RunStatus
    kernel_restarted: bool
    collector: OutputCollector = field(eq=False)


@define(frozen=True, slots=True)
class RestartKernel:
    """Action: restart the kernel; answer :class:`Restarted`."""


@define(frozen=True, slots=True)
class RunInit:
    """Action: re-run the init cell on the restarted kernel; answer :class:`InitRan`."""


@define(frozen=True, slots=True)
class Finished:
    """Action: the run is over; ``result`` is its outcome. Send nothing more."""

    result: RunResult


Action = Execute | Await | CheckAlive | Interrupt | DrainReply | Record | RestartKernel | RunInit
"""What the machine asks a driver to do next (:class:`Finished` ends the run)."""


# -- events (driver -> machine) ------------------------------------------------------------


@define(frozen=True, slots=True)
class Executed:
    """Event: the execute request went out as ``msg_id`` at ``now``."""

    msg_id: str
    now: float


@define(frozen=True, slots=True)
class Received:
    """Event: an IOPub ``message`` arrived at ``now``."""

    message: Mapping[str, Any]
    now: float


@define(frozen=True, slots=True)
class Quiet:
    """Event: no message arrived within the wait; the clock reads ``now``."""

    now: float


@define(frozen=True, slots=True)
class AliveChecked:
    """Event: the kernel is ``alive`` (or not) at ``now``."""

    alive: bool
    now: float


@define(frozen=True, slots=True)
class Interrupted:
    """Event: the interrupt was sent at ``now``."""

    now: float


@define(frozen=True, slots=True)
class Drained:
    """Event: the shell reply was read (or did not come in time)."""


@define(frozen=True, slots=True)
class Recorded:
    """Event: the outputs are in the notebook; ``result`` describes the run."""

    result: RunResult


@define(frozen=True, slots=True)
class Restarted:
    """Event: the kernel was restarted."""


@define(frozen=True, slots=True)
class InitRan:
    """Event: the init cell ran on the restarted kernel."""


Event = (
    Executed | Received | Quiet | AliveChecked | Interrupted | Drained | Recorded | Restarted
) | InitRan

ACCEPTS: dict[Phase, tuple[type, ...]] = {
    Phase.READY: (),
    Phase.EXECUTING: (Executed,),
    Phase.WAITING: (Received, Quiet),
    Phase.CHECKING: (AliveChecked,),
    Phase.INTERRUPTING: (Interrupted,),
    Phase.DRAINING: (Drained,),
    Phase.RECORDING: (Recorded,),
    Phase.RESTARTING: (Restarted,),
    Phase.REINITIALISING: (InitRan,),
    Phase.DONE: (),
    Phase.FAILED: (),
}
"""The events each phase accepts; any other is a :class:`CellRunProtocolError`."""


# -- the machine ---------------------------------------------------------------------------


@define(frozen=True, slots=True)
class CellRunState:
    """A run's frozen state. ``deadline`` is the clock reading past which the cell is
    interrupted (then, once ``interrupted``, restarted); None for no timeout."""

    phase: Phase = Phase.READY
    msg_id: str | None = None
    deadline: float | None = None
    interrupted: bool = False
    result: RunResult | None = None


class CellRun:
    """One cell's run as a state machine: ``action = run.start()``, then
    ``action = run.send(event)`` until the action is :class:`Finished`.

    ``timeout`` (seconds, None for none) is how long the cell may run before it is interrupted;
    ``interrupt_grace`` how long it may then take to stop before the kernel is restarted;
    ``reinit`` whether the init cell is re-run after a restart (not when this *is* the init cell).
    ``collector`` gathers the outputs once the request is sent (it needs the request's id).
    """

    def __init__(
        self,
        source: str,
        *,
        timeout: float | None,
        interrupt_grace: float,
        reinit: bool = True,
        poll_interval: float = POLL_INTERVAL,
        max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
    ) -> None:
        self.source = source
        self.timeout = timeout
        self.interrupt_grace = interrupt_grace
        self.reinit = reinit
        self.poll_interval = poll_interval
        self.max_output_chars = max_output_chars
        self.state = CellRunState()
        self.collector: OutputCollector | None = None

    @property
    def phase(self) -> Phase:
        """The current phase."""
        return self.state.phase

    def start(self) -> Action | Finished:
        """The first action: send the execute request."""
        phase = self.state.phase
        if phase is not Phase.READY:
            self._fail()
            raise CellRunProtocolError(
                f"cell run: start() was called in phase {phase.value!r}; a run "
                "starts once (build a new CellRun for the next run)"
            )
        return self._to(Phase.EXECUTING, Execute(self.source))

    def send(self, event: Event) -> Action | Finished:
        """Feed the outcome of the last action; get the next action."""
        phase = self.state.phase
        if type(event) not in ACCEPTS[phase]:
            self._fail()
            accepted = ", ".join(t.__name__ for t in ACCEPTS[phase]) or "no event"
            raise CellRunProtocolError(
                f"cell run is in phase {phase.value!r}, which accepts {accepted}; it was sent "
                f"{type(event).__name__} (a driver bug: perform the last action and send its "
                "outcome)"
            )
        return self._on(event)

    # -- transitions -----------------------------------------------------------------------

    def _on(self, event: Event) -> Action | Finished:
        if isinstance(event, Executed):
            self.collector = OutputCollector(event.msg_id, self.max_output_chars)
            deadline = None if self.timeout is None else event.now + self.timeout
            self.state = evolve(self.state, msg_id=event.msg_id, deadline=deadline)
            return self._wait(event.now)
        if isinstance(event, Received):
            assert self.collector is not None and self.state.msg_id is not None
            if self.collector.feed(event.message):
                return self._to(Phase.DRAINING, DrainReply(self.state.msg_id))
            return self._check_deadline(event.now)
        if isinstance(event, Quiet):
            return self._to(Phase.CHECKING, CheckAlive())
        if isinstance(event, AliveChecked):
            if not event.alive:
                return self._record(RunStatus.KERNEL_DIED, restart=True)
            return self._check_deadline(event.now)
        if isinstance(event, Interrupted):
            self.state = evolve(
                self.state, interrupted=True, deadline=event.now + self.interrupt_grace
            )
            return self._wait(event.now)
        if isinstance(event, Drained):
            assert self.collector is not None
            if self.state.interrupted:
                return self._record(RunStatus.TIMEOUT, restart=False)
            return self._record(
                RunStatus.ERROR if self.collector.raised else RunStatus.OK, restart=False
            )
        if isinstance(event, Recorded):
            self.state = evolve(self.state, result=event.result)
            if event.result.kernel_restarted:
                return self._to(Phase.RESTARTING, RestartKernel())
            return self._finish()
        if isinstance(event, Restarted):
            return self._to(Phase.REINITIALISING, RunInit()) if self.reinit else self._finish()
        return self._finish()  # InitRan: the only event left (ACCEPTS let nothing else in)

    def _check_deadline(self, now: float) -> Action:
        deadline = self.state.deadline
        if deadline is None or now < deadline:
            return self._wait(now)
        if self.state.interrupted:
            # The interrupt did not stop the cell within the grace period.
            return self._record(RunStatus.TIMEOUT, restart=True)
        return self._to(Phase.INTERRUPTING, Interrupt())

    def _wait(self, now: float) -> Action:
        deadline = self.state.deadline
        wait = self.poll_interval if deadline is None else min(self.poll_interval, deadline - now)
        return self._to(Phase.WAITING, Await(max(wait, MIN_WAIT)))

    def _record(self, status: RunStatus, *, restart: bool) -> Action:
        assert self.collector is not None
        return self._to(Phase.RECORDING, Record(status, restart, self.collector))

    def _finish(self) -> Finished:
        result = self.state.result
        assert result is not None
        self.state = evolve(self.state, phase=Phase.DONE)
        return Finished(result)

    def _to(self, phase: Phase, action: Action) -> Action:
        self.state = evolve(self.state, phase=phase)
        return action

    def _fail(self) -> None:
        self.state = evolve(self.state, phase=Phase.FAILED)
