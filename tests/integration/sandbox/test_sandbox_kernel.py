"""The blocking Jupyter session against a real ipykernel (one kernel shared by the module)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from lllm_adapters.jupyter import JupyterSandbox, JupyterSession, KernelLaunch, SessionMetadata
from lllm_domain.sandbox import (
    CellExecutionError,
    CellKind,
    CellTimeoutError,
    KernelDiedError,
    RunStatus,
    strip_ansi,
)

ROOT = Path(__file__).resolve().parents[3]
MAX_CHARS = 100_000


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterSandbox]:
    launch = KernelLaunch(interrupt_grace=1.0)
    with JupyterSandbox(
        tmp_path_factory.mktemp("sandboxes"), launch=launch, max_output_chars=MAX_CHARS
    ) as sb:
        yield sb


@pytest.fixture(scope="module")
def session(sandbox: JupyterSandbox) -> JupyterSession:
    return sandbox.create_session("main", SessionMetadata(project_root=str(ROOT)))


def test_no_kernel_starts_until_code_runs(sandbox: JupyterSandbox) -> None:
    lazy = sandbox.create_session("lazy")
    lazy.append_cell("x = 1")
    assert not lazy.started
    sandbox.delete_session("lazy")


def test_outputs_of_each_kind_land_in_the_notebook_and_it_validates(
    session: JupyterSession,
) -> None:
    code = (
        "import sys\n"
        "from IPython.display import display, HTML\n"
        "print('to stdout')\n"
        "print('to stderr', file=sys.stderr)\n"
        "display(HTML('<b>bold</b>'))\n"
        "6 * 7"
    )
    ok = session.run_code(code)
    assert ok.status is RunStatus.OK
    session.append_cell("Some *notes*", CellKind.MARKDOWN)
    bad = session.run_code("def f():\n    raise ValueError('nope')\nf()")
    assert bad.status is RunStatus.ERROR
    with pytest.raises(CellExecutionError, match="ValueError: nope"):
        bad.raise_for_status()

    nb = nbformat.read(session.path, as_version=4)
    nbformat.validate(nb)
    cell = nb.cells[ok.index]
    kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
    assert kinds == [
        ("stream", "stdout"),
        ("stream", "stderr"),
        ("display_data", None),
        ("execute_result", None),
    ]
    assert cell.outputs[2].data["text/html"] == "<b>bold</b>"
    assert cell.outputs[3].data["text/plain"] == "42"
    assert cell.execution_count == ok.execution_count is not None
    assert cell.outputs[3].execution_count == cell.execution_count
    err = nb.cells[bad.index].outputs[-1]
    assert err.output_type == "error" and err.ename == "ValueError" and err.evalue == "nope"
    assert any("raise ValueError" in strip_ansi(line) for line in err.traceback)
    assert nb.cells[bad.index - 1].cell_type == "markdown"
    assert nb.cells[bad.index].execution_count > cell.execution_count


def test_state_persists_across_cells_and_restart_clears_it(session: JupyterSession) -> None:
    session.run_code("persisted = 'kept'")
    assert session.run_code("persisted").text() == "'kept'\n"
    session.restart()
    gone = session.run_code("persisted")
    assert gone.status is RunStatus.ERROR and gone.error_output is not None
    assert gone.error_output.ename == "NameError"
    # The init cell ran again after the restart: the project root is importable.
    assert session.run_code(f"import sys\n{str(ROOT)!r} in sys.path").text() == "True\n"


def test_runaway_cell_is_interrupted_at_its_timeout_and_the_session_stays_usable(
    session: JupyterSession,
) -> None:
    session.run_code("before = 5")
    result = session.run_code("while True: pass", timeout=1.0)
    assert result.status is RunStatus.TIMEOUT and not result.kernel_restarted
    assert result.error_output is not None and result.error_output.ename == "KeyboardInterrupt"
    with pytest.raises(CellTimeoutError):
        result.raise_for_status()
    assert session.run_code("before + 1").text() == "6\n"


def test_cell_that_ignores_the_interrupt_gets_the_kernel_restarted(
    session: JupyterSession,
) -> None:
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
    result = session.run_code(code, timeout=0.5)
    assert result.status is RunStatus.TIMEOUT and result.kernel_restarted
    assert session.run_code("1 + 1").text() == "2\n"


def test_dead_kernel_is_detected_reported_and_restarted(session: JupyterSession) -> None:
    session.run_code("doomed = 1")
    result = session.run_code("import os; os._exit(1)")
    assert result.status is RunStatus.KERNEL_DIED and result.kernel_restarted
    with pytest.raises(KernelDiedError, match="restarted"):
        result.raise_for_status()
    after = session.run_code("doomed")
    assert after.error_output is not None and after.error_output.ename == "NameError"
    nbformat.validate(nbformat.read(session.path, as_version=4))


def test_a_10_mb_print_is_truncated(session: JupyterSession) -> None:
    result = session.run_code("print('x' * 10_000_000)")
    assert result.ok and result.truncated
    text = result.text()
    assert text.count("x") == MAX_CHARS
    assert "more characters not shown" in text
    assert session.path.stat().st_size < 3 * MAX_CHARS
    nbformat.validate(nbformat.read(session.path, as_version=4))


def test_kernel_runs_in_the_session_folder(session: JupyterSession) -> None:
    session.run_code("import os\nos.makedirs('data', exist_ok=True)\nopen('data/out.csv', 'w')")
    assert session.run_code("os.getcwd()").text() == repr(str(session.folder)) + "\n"
    assert "  data/\n    out.csv" in session.tree()


def test_kernel_runs_on_the_callers_python(session: JupyterSession) -> None:
    assert session.run_code("import sys\nsys.executable").text() == repr(sys.executable) + "\n"


def test_run_all_restarts_first_and_stops_at_the_first_error(sandbox: JupyterSandbox) -> None:
    s = sandbox.create_session("runall")
    s.append_cell("a = 1")
    s.append_cell("# heading", CellKind.MARKDOWN)
    s.append_cell("b = a + 1\nb")
    s.append_cell("raise RuntimeError('stop here')")
    s.append_cell("never = True")
    results = s.run_all(restart=True)
    assert [r.status for r in results] == [RunStatus.OK, RunStatus.OK, RunStatus.ERROR]
    assert results[1].text() == "2\n"
    assert s.read_cell(5).execution_count is None
    sandbox.shutdown_session("runall")


def test_interrupt_from_another_thread(session: JupyterSession) -> None:
    timer = threading.Timer(0.5, session.interrupt)
    timer.start()
    result = session.run_code("import time\ntime.sleep(30)", timeout=20)
    timer.join()
    assert result.status is RunStatus.ERROR
    assert result.error_output is not None and result.error_output.ename == "KeyboardInterrupt"
