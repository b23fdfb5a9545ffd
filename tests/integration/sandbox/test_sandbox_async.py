"""The async Jupyter session and manager against a real ipykernel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
from lllm_adapters.jupyter import AsyncJupyterSandbox
from lllm_domain.message import FunctionCall
from lllm_domain.sandbox import RunStatus, async_code_execution_tool


def test_async_session_runs_times_out_recovers_and_restarts(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncJupyterSandbox(tmp_path, max_output_chars=1000) as sandbox:
            session = sandbox.create_session("async")
            assert not session.started
            first = await session.run_code("x = 20\nprint('hi')\nx + 1")
            assert first.ok and first.text() == "hi\n21\n"
            stuck = await session.run_code("while True: pass", timeout=1.0)
            assert stuck.status is RunStatus.TIMEOUT
            assert (await session.run_code("x")).text() == "20\n"
            # Concurrent runs are serialised; each gets its own outputs.
            both = await asyncio.gather(
                session.run_code("import time; time.sleep(0.2); print('a')"),
                session.run_code("print('b')"),
            )
            assert [r.text() for r in both] == ["a\n", "b\n"]
            big = await session.run_code("print('y' * 100_000)")
            assert big.truncated
            died = await session.run_code("import os; os._exit(3)")
            assert died.status is RunStatus.KERNEL_DIED and died.kernel_restarted
            assert (await session.run_code("'x' in dir()")).text() == "False\n"

            tool = async_code_execution_tool(session)
            done = await tool.ainvoke(
                FunctionCall(id="c", name=tool.name, arguments={"code": "3*3"})
            )
            assert done.result_text is not None and done.result_text.endswith("· ok]\n9\n")

            while len(session.cells()) > 1:  # keep only the init cell
                session.delete_cell(1)
            session.append_cell("y = 1")
            session.append_cell("y + 1")
            results = await session.run_all(restart=True)
            assert [r.text() for r in results] == ["", "2\n"]
            nbformat.validate(nbformat.read(session.path, as_version=4))
            await sandbox.delete_session("async")
            assert sandbox.list_sessions() == []

    asyncio.run(scenario())
