"""The sandbox-session contract, run against both Jupyter sessions (blocking and async) on real
ipykernels, as the caller and log-store contracts run against their adapters.

A session edits the cells of its notebook, runs them with outputs, interrupts a cell past its
timeout (restarting a kernel that ignores the interrupt), restarts a kernel that died, stops
``run_all`` at the first failure, refuses to run a cell deleted before its run started, and
works the same on a kernel reached through its connection file. Each form keeps one kernel for
the module (the async form on one event loop), so the suite starts few kernels.
"""

from __future__ import annotations

import asyncio
import linecache
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from lllm_adapters.jupyter import (
    AsyncJupyterSandbox,
    AsyncJupyterSession,
    JupyterSandbox,
    JupyterSession,
    KernelLaunch,
    SessionMetadata,
)
from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import CellIndexError, CellKind, RunResult, RunStatus

from tests.support.external_kernel import external_kernel as start_external_kernel

ROOT = Path(__file__).resolve().parents[2]
MAX_CHARS = 20_000
FORMS = ["sync", "async"]


class Driven:
    """A session of either form behind one blocking interface: the async form's coroutines run
    on the module's one event loop (its kernel clients belong to that loop)."""

    def __init__(
        self, session: JupyterSession | AsyncJupyterSession, runner: asyncio.Runner | None
    ):
        self.session = session
        self.runner = runner

    def do(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` of the session (awaited on the loop for the async form)."""
        outcome = getattr(self.session, method)(*args, **kwargs)
        return self.runner.run(outcome) if self.runner is not None else outcome

    def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        result: RunResult = self.do("run_code", source, timeout)
        return result

    def text(self, source: str) -> str:
        return self.run_code(source).text()

    def run_cell_while_busy_and_delete_it(self, index: int) -> BaseException | RunResult:
        """Ask for a run of cell ``index`` while the session is busy with another run (its lock
        held), delete the cell meanwhile, then let the session go; return what the run did."""
        session = self.session
        if isinstance(session, JupyterSession):
            outcome: list[BaseException | RunResult] = []

            def run() -> None:
                try:
                    outcome.append(session.run_cell(index))
                except BaseException as exc:
                    outcome.append(exc)

            with session._lock:
                waiter = threading.Thread(target=run)
                waiter.start()
                _wait_until_blocked_on_the_lock(waiter)
                session.delete_cell(index)
            waiter.join(timeout=60)
            return outcome[0]

        async def scenario() -> BaseException | RunResult:
            async with session._lock:
                task = asyncio.create_task(session.run_cell(index))
                await asyncio.sleep(0.05)  # the task fixes its cell, then waits for the lock
                session.delete_cell(index)
            try:
                return await task
            except BaseException as exc:
                return exc

        assert self.runner is not None
        return self.runner.run(scenario())


def _wait_until_blocked_on_the_lock(thread: threading.Thread) -> None:
    """Wait until ``thread`` waits for the session's lock (its innermost frame is at a
    ``with self._lock`` line)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(thread.ident or -1)
        if frame is not None:
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
            if "with self._lock" in line:
                return
        time.sleep(0.01)
    raise AssertionError("the run never waited for the session's lock")


@pytest.fixture(scope="module", params=FORMS)
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def runner(form: str) -> Iterator[asyncio.Runner | None]:
    if form == "sync":
        yield None
        return
    with asyncio.Runner() as loop:
        yield loop


def _shutdown(sandbox: JupyterSandbox | AsyncJupyterSandbox, runner: asyncio.Runner | None) -> None:
    if isinstance(sandbox, AsyncJupyterSandbox):
        assert runner is not None
        runner.run(sandbox.shutdown_all())
    else:
        sandbox.shutdown_all()


@pytest.fixture(scope="module")
def sandbox(
    form: str, runner: asyncio.Runner | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterSandbox | AsyncJupyterSandbox]:
    options: dict[str, Any] = {
        "launch": KernelLaunch(interrupt_grace=1.0),
        "max_output_chars": MAX_CHARS,
    }
    root = tmp_path_factory.mktemp(f"contract-{form}")
    made = (
        JupyterSandbox(root, **options) if form == "sync" else AsyncJupyterSandbox(root, **options)
    )
    try:
        yield made
    finally:
        _shutdown(made, runner)


@pytest.fixture(scope="module")
def session(sandbox: JupyterSandbox | AsyncJupyterSandbox, runner: asyncio.Runner | None) -> Driven:
    """The module's session of this form (its kernel starts on the first run, once)."""
    return Driven(sandbox.create_session("main", SessionMetadata(project_root=str(ROOT))), runner)


def _fresh(
    sandbox: JupyterSandbox | AsyncJupyterSandbox, runner: asyncio.Runner | None, name: str
) -> Driven:
    return Driven(sandbox.create_session(name), runner)


def _valid_notebook(driven: Driven) -> Any:
    nb = nbformat.read(driven.session.path, as_version=4)
    nbformat.validate(nb)
    return nb


# -- cells ---------------------------------------------------------------------------------


def test_append_insert_overwrite_delete_and_read_cells(
    sandbox: JupyterSandbox | AsyncJupyterSandbox, runner: asyncio.Runner | None
) -> None:
    edits = _fresh(sandbox, runner, "edits")
    s = edits.session
    assert [c.source for c in s.cells()][1:] == []  # only the init cell
    assert s.append_cell("a = 1") == 1
    assert s.append_cell("# notes", CellKind.MARKDOWN) == 2
    assert s.insert_cell(1, "first = True") == 1
    assert [c.source for c in s.cells()[1:]] == ["first = True", "a = 1", "# notes"]
    assert s.read_cell(3).kind is CellKind.MARKDOWN
    s.overwrite_cell(2, "a = 2")
    assert s.read_cell(2).source == "a = 2"
    s.delete_cell(1)
    assert [c.source for c in s.cells()[1:]] == ["a = 2", "# notes"]
    with pytest.raises(CellIndexError):
        s.read_cell(99)
    with pytest.raises(CellIndexError):
        s.delete_cell(99)
    assert not s.started  # editing starts no kernel
    assert [c.source for c in _valid_notebook(edits).cells[1:]] == ["a = 2", "# notes"]


# -- runs ----------------------------------------------------------------------------------


def test_run_collects_outputs_of_each_kind_into_the_notebook(session: Driven) -> None:
    code = (
        "import sys\n"
        "from IPython.display import display, HTML\n"
        "print('out')\n"
        "print('err', file=sys.stderr)\n"
        "display(HTML('<b>b</b>'))\n"
        "6 * 7"
    )
    ok = session.run_code(code)
    assert ok.status is RunStatus.OK and ok.execution_count is not None
    assert [o.output_type for o in ok.outputs] == [
        "stream",
        "stream",
        "display_data",
        "execute_result",
    ]
    assert ok.text().startswith("out\nerr\n") and ok.text().endswith("42\n")
    cell = _valid_notebook(session).cells[ok.index]
    assert cell.outputs[3].data["text/plain"] == "42"
    assert cell.execution_count == ok.execution_count

    bad = session.run_code("raise ValueError('nope')")
    assert bad.status is RunStatus.ERROR
    assert bad.error_output is not None and bad.error_output.ename == "ValueError"

    markdown = session.session.append_cell("*text*", CellKind.MARKDOWN)
    assert session.do("run_cell", markdown).status is RunStatus.OK


def test_state_persists_and_restart_clears_it_and_reruns_the_init_cell(session: Driven) -> None:
    session.run_code("kept = 'yes'")
    assert session.text("kept") == "'yes'\n"
    session.do("restart")
    gone = session.run_code("kept")
    assert gone.error_output is not None and gone.error_output.ename == "NameError"
    assert session.text(f"import sys\n{str(ROOT)!r} in sys.path") == "True\n"


def test_a_cell_past_its_timeout_is_interrupted_and_the_kernel_keeps_its_state(
    session: Driven,
) -> None:
    session.run_code("before = 5")
    stuck = session.run_code("while True: pass", timeout=0.5)
    assert stuck.status is RunStatus.TIMEOUT and not stuck.kernel_restarted
    assert stuck.error_output is not None and stuck.error_output.ename == "KeyboardInterrupt"
    assert session.text("before + 1") == "6\n"


def test_a_cell_that_prints_without_pause_is_still_interrupted_at_its_timeout(
    session: Driven,
) -> None:
    session.run_code("still = 'here'")
    chatty = session.run_code("while True: print('x' * 100)", timeout=0.5)
    assert chatty.status is RunStatus.TIMEOUT and chatty.truncated
    assert session.text("still") == "'here'\n"


def test_a_cell_that_ignores_the_interrupt_gets_the_kernel_restarted(session: Driven) -> None:
    session.run_code("lost = 1")
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
    result = session.run_code(code, timeout=0.5)
    assert result.status is RunStatus.TIMEOUT and result.kernel_restarted
    assert session.text("'lost' in dir()") == "False\n"
    assert session.text(f"import sys\n{str(ROOT)!r} in sys.path") == "True\n"  # init re-ran


def test_a_dead_kernel_is_reported_and_restarted(session: Driven) -> None:
    session.run_code("doomed = 1")
    died = session.run_code("import os; os._exit(1)")
    assert died.status is RunStatus.KERNEL_DIED and died.kernel_restarted
    assert died.error_output is not None and died.error_output.ename == "KernelDied"
    assert session.text("'doomed' in dir()") == "False\n"
    _valid_notebook(session)


def test_run_all_runs_code_cells_in_order_and_stops_at_the_first_failure(
    sandbox: JupyterSandbox | AsyncJupyterSandbox, runner: asyncio.Runner | None
) -> None:
    runall = _fresh(sandbox, runner, "runall")
    s = runall.session
    s.append_cell("a = 1")
    s.append_cell("# heading", CellKind.MARKDOWN)
    s.append_cell("a + 1")
    s.append_cell("raise RuntimeError('stop here')")
    never = s.append_cell("never = True")
    try:
        results = runall.do("run_all", restart=True)
        assert [r.status for r in results] == [RunStatus.OK, RunStatus.OK, RunStatus.ERROR]
        assert results[1].text() == "2\n"
        assert s.read_cell(never).execution_count is None
    finally:
        runall.do("shutdown")


# -- deleted cells ---------------------------------------------------------------------------


def test_a_cell_deleted_before_its_run_started_is_not_run(session: Driven) -> None:
    index = session.session.append_cell("print('should never run')")
    outcome = session.run_cell_while_busy_and_delete_it(index)
    assert isinstance(outcome, SandboxError), outcome
    assert f"cell {index}" in str(outcome) and "deleted before its run started" in str(outcome)
    texts = [
        o.get("text", "") for c in _valid_notebook(session).cells for o in c.get("outputs", [])
    ]
    assert "should never run\n" not in texts


# -- a kernel reached through its connection file ------------------------------------------


@pytest.fixture(scope="module")
def external_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernel someone else started (shared by both forms); yields its connection file."""
    with start_external_kernel(tmp_path_factory.mktemp("external")) as connection_file:
        yield connection_file


def test_a_remote_kernel_runs_interrupts_resets_and_outlives_the_session(
    form: str, runner: asyncio.Runner | None, external_kernel: str, tmp_path: Path
) -> None:
    launch = KernelLaunch(connection_file=external_kernel, interrupt_grace=3.0)
    kind = JupyterSession if form == "sync" else AsyncJupyterSession
    remote = Driven(kind(tmp_path / "remote", launch=launch), runner)
    try:
        remote.run_code("shared = 21")
        assert remote.text("shared * 2") == "42\n"
        stuck = remote.run_code("while True: pass", timeout=0.5)
        assert stuck.status is RunStatus.TIMEOUT and not stuck.kernel_restarted
        assert remote.text("shared") == "21\n"
        remote.do("restart")  # not our process: a restart clears the namespace instead
        assert remote.text("'shared' in dir()") == "False\n"
        remote.run_code(f"survivor_{form} = True")
    finally:
        remote.do("shutdown")
    # Shutting the session down only disconnected: the kernel and its namespace live on.
    again = Driven(kind(tmp_path / "again", launch=launch), runner)
    try:
        assert again.text(f"survivor_{form}") == "True\n"
    finally:
        again.do("shutdown")
