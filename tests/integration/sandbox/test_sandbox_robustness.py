"""Regression tests against a real ipykernel: cell edits while a cell runs, kernels that never
become ready, a failing init cell, and session creation that fails half-way."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from lllm_adapters.jupyter import (
    KERNEL_LOG_NAME,
    AsyncJupyterSandbox,
    AsyncJupyterSession,
    JupyterSandbox,
    JupyterSession,
    KernelLaunch,
)
from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import KernelUnavailableError

# The cell touches a file when it starts, so the test edits the notebook while it is running.
_SLOW_CELL = (
    "import time, pathlib\npathlib.Path('started').touch()\ntime.sleep(1.5)\nprint('output of A')"
)


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


async def _await_file(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.02)


def _sources_with_outputs(path: Path) -> list[tuple[str, str, str]]:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return [
        (
            c.cell_type,
            c.source,
            "".join(o.get("text", "") for o in c.get("outputs", [])),
        )
        for c in nb.cells
    ]


# -- 1. outputs go to the cell that ran, whatever was inserted meanwhile ------------------------


def test_async_insert_during_run_keeps_outputs_on_the_running_cell(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncJupyterSession(tmp_path / "s") as session:
            session.append_cell("a = 1")
            session.append_cell("b = 2")
            index = session.append_cell(_SLOW_CELL)
            assert index == 3
            run = asyncio.create_task(session.run_cell(index))
            await _await_file(session.folder / "started")
            session.insert_cell(1, "# note", "markdown")
            session.insert_cell(4, "# right before the running cell", "markdown")
            result = await run
            assert result.ok and result.text() == "output of A\n"
            assert result.index == 5  # where the cell is now, not where it was
            cells = _sources_with_outputs(session.path)
            assert cells[5] == ("code", _SLOW_CELL, "output of A\n")
            assert [c[2] for i, c in enumerate(cells) if i != 5] == [""] * 5
            assert cells[4][0] == "markdown"
            # Later edits still save (the notebook stayed valid).
            session.append_cell("c = 3")
            assert (await session.run_code("print('after')")).text() == "after\n"

    asyncio.run(scenario())


def test_async_delete_or_overwrite_of_the_running_cell_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncJupyterSession(tmp_path / "s") as session:
            session.append_cell("a = 1")
            index = session.append_cell(_SLOW_CELL)
            run = asyncio.create_task(session.run_cell(index))
            await _await_file(session.folder / "started")
            with pytest.raises(SandboxError, match="running"):
                session.delete_cell(index)
            with pytest.raises(SandboxError, match="running"):
                session.overwrite_cell(index, "print('other')")
            session.delete_cell(1)  # another cell: fine, the running one moves up
            result = await run
            assert result.ok and result.index == 1
            assert _sources_with_outputs(session.path)[1] == ("code", _SLOW_CELL, "output of A\n")

    asyncio.run(scenario())


def test_blocking_edits_from_another_thread_wait_for_the_run(tmp_path: Path) -> None:
    with JupyterSession(tmp_path / "s") as session:
        session.append_cell("a = 1")
        session.append_cell("b = 2")
        index = session.append_cell(_SLOW_CELL)
        results = []
        runner = threading.Thread(target=lambda: results.append(session.run_cell(index)))
        runner.start()
        try:
            _wait_for(session.folder / "started")
            session.insert_cell(1, "# note", "markdown")
            session.insert_cell(3, "# at the running cell's old index", "markdown")
        finally:
            runner.join()
        (result,) = results
        assert result.ok and result.text() == "output of A\n"
        assert result.index == 3  # the edits waited for the run to end
        cells = _sources_with_outputs(session.path)
        assert cells[5] == ("code", _SLOW_CELL, "output of A\n")
        assert [c[2] for i, c in enumerate(cells) if i != 5] == [""] * 5
        assert [c[0] for c in cells].count("markdown") == 2
        session.append_cell("c = 3")


# -- 2. a kernel that never becomes ready is shut down ------------------------------------------


def _pids_with(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def _open_log_handles() -> list[str]:
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.endswith(KERNEL_LOG_NAME):
            found.append(target)
    return found


def _never_ready(marker: str) -> KernelLaunch:
    code = f"import time; time.sleep(300)  # {marker}"
    return KernelLaunch(
        argv=(sys.executable, "-c", code, "-f", "{connection_file}"), startup_timeout=2
    )


@pytest.mark.skipif(sys.platform != "linux", reason="finds processes through /proc")
def test_kernel_that_never_becomes_ready_is_shut_down(tmp_path: Path) -> None:
    marker = f"lllm-never-ready-{uuid.uuid4().hex}"
    session = JupyterSession(tmp_path / "s", launch=_never_ready(marker))
    try:
        with pytest.raises(KernelUnavailableError):
            session.run_code("1")
        assert not session.started
        session.shutdown()
        assert _pids_with(marker) == []
        assert _open_log_handles() == []
    finally:
        session.shutdown()
        for pid in _pids_with(marker):  # do not leave the sleeper behind if the test failed
            os.kill(pid, 9)


@pytest.mark.skipif(sys.platform != "linux", reason="finds processes through /proc")
def test_async_kernel_that_never_becomes_ready_is_shut_down(tmp_path: Path) -> None:
    marker = f"lllm-never-ready-{uuid.uuid4().hex}"

    async def scenario() -> None:
        session = AsyncJupyterSession(tmp_path / "s", launch=_never_ready(marker))
        try:
            with pytest.raises(KernelUnavailableError):
                await session.run_code("1")
            assert not session.started
            await session.shutdown()
            assert _pids_with(marker) == []
            assert _open_log_handles() == []
        finally:
            await session.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        for pid in _pids_with(marker):
            os.kill(pid, 9)


@pytest.mark.skipif(sys.platform != "linux", reason="finds processes through /proc")
def test_kernel_that_never_becomes_ready_after_a_restart_is_shut_down(tmp_path: Path) -> None:
    marker = f"lllm-restart-never-ready-{uuid.uuid4().hex}"
    # A real kernel the first time; a process that never answers once the flag file exists.
    code = (
        "import os, sys, time\n"
        "if os.path.exists('second-start'):\n"
        "    time.sleep(300)\n"
        "open('second-start', 'w').close()\n"
        f"from ipykernel import kernelapp  # {marker}\n"
        "kernelapp.launch_new_instance()\n"
    )
    launch = KernelLaunch(
        argv=(sys.executable, "-c", code, "-f", "{connection_file}"), startup_timeout=10
    )
    session = JupyterSession(tmp_path / "s", launch=launch)
    try:
        assert session.run_code("1 + 1").text() == "2\n"
        assert len(_pids_with(marker)) == 1
        session.launch = KernelLaunch(argv=launch.argv, startup_timeout=2)
        assert session._kernel is not None
        session._kernel.launch = session.launch
        with pytest.raises(KernelUnavailableError):
            session.restart()
        assert not session.started
        assert _pids_with(marker) == []
        assert _open_log_handles() == []
    finally:
        session.shutdown()
        for pid in _pids_with(marker):
            os.kill(pid, 9)


# -- 3. a failed init cell is never skipped ------------------------------------------------------

_BROKEN_PROXIES = {"proxies": ["finance/fmp"], "proxy_runtime_factory": "nonexistent_mod:f"}


def test_failed_init_cell_is_retried_never_skipped(tmp_path: Path) -> None:
    with JupyterSession(tmp_path / "s", metadata=_BROKEN_PROXIES) as session:
        for _ in range(2):
            with pytest.raises(SandboxError, match="init cell"):
                session.run_code("print('user code ran')")
            assert not session.started
        cells = _sources_with_outputs(session.path)
        assert all("user code ran" not in c[2] for c in cells)
        assert "ModuleNotFoundError" in str(nbformat.read(session.path, as_version=4).cells[0])


def test_async_failed_init_cell_is_retried_never_skipped(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncJupyterSession(tmp_path / "s", metadata=_BROKEN_PROXIES) as session:
            for _ in range(2):
                with pytest.raises(SandboxError, match="init cell"):
                    await session.run_code("print('user code ran')")
                assert not session.started
            cells = _sources_with_outputs(session.path)
            assert all("user code ran" not in c[2] for c in cells)

    asyncio.run(scenario())


# -- 4. a failed create_session / from_dict leaves no folder behind ------------------------------

_BAD_FACTORY = {"proxies": ["finance/fmp"], "proxy_runtime_factory": "no-colon-here"}


def test_failed_create_session_leaves_no_folder(tmp_path: Path) -> None:
    with JupyterSandbox(tmp_path) as sandbox:
        with pytest.raises(SandboxError, match="module:function"):
            sandbox.create_session("s", _BAD_FACTORY)
        assert not (tmp_path / "s").exists()
        assert sandbox.list_sessions() == []
        assert sandbox.create_session("s").name == "s"


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"name": "s", "notebook": {}}, "notebook"),
        ({"name": "s", "notebook": "not a notebook"}, "notebook"),
        ({"name": "s"}, "notebook"),
        ({"notebook": {}}, "name"),
        ("not a mapping", "mapping"),
    ],
)
def test_from_dict_with_bad_data_raises_sandbox_error_and_leaves_no_folder(
    tmp_path: Path, data: object, complaint: str
) -> None:
    with JupyterSandbox(tmp_path) as sandbox:
        with pytest.raises(SandboxError, match=complaint):
            sandbox.from_dict(data)  # type: ignore[arg-type]
        assert list(tmp_path.iterdir()) == []


def test_from_dict_with_bad_metadata_leaves_no_folder(tmp_path: Path) -> None:
    with JupyterSandbox(tmp_path) as sandbox:
        good = sandbox.create_session("s").to_dict()
        sandbox.delete_session("s")
        with pytest.raises(SandboxError, match="module:function"):
            sandbox.from_dict({**good, "metadata": _BAD_FACTORY})
        assert not (tmp_path / "s").exists()
        assert sandbox.from_dict(good).name == "s"


def test_async_manager_failed_creation_leaves_no_folder(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncJupyterSandbox(tmp_path) as sandbox:
            with pytest.raises(SandboxError, match="module:function"):
                sandbox.create_session("s", _BAD_FACTORY)
            with pytest.raises(SandboxError, match="notebook"):
                sandbox.from_dict({"name": "t", "notebook": {}})
            assert list(tmp_path.iterdir()) == []
            assert sandbox.create_session("s").name == "s"

    asyncio.run(scenario())
