"""The sandbox's values, output collection, init cell and tool — no kernel needed."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from lllm_adapters.jupyter import (
    JupyterSandbox,
    OutputCollector,
    SessionMetadata,
    init_cell_source,
)
from lllm_adapters.jupyter.init_cell import CALL_FUNCTION_NAME, PROXY_RUNTIME_FACTORY
from lllm_domain.errors import SandboxError
from lllm_domain.message import FunctionCall
from lllm_domain.sandbox import (
    CellExecutionError,
    CellIndexError,
    CellKind,
    CellTimeoutError,
    DisplayData,
    ErrorOutput,
    ExecuteResult,
    KernelDiedError,
    RunResult,
    RunStatus,
    SessionNotFoundError,
    StreamOutput,
    code_execution_tool,
    render_outputs,
)


def _msg(kind: str, content: dict[str, Any], parent: str = "m1") -> dict[str, Any]:
    return {"header": {"msg_type": kind}, "parent_header": {"msg_id": parent}, "content": content}


def test_collector_builds_each_output_kind_and_stops_at_idle() -> None:
    c = OutputCollector("m1")
    assert not c.feed(_msg("status", {"execution_state": "busy"}))
    c.feed(_msg("execute_input", {"execution_count": 7, "code": "x"}))
    c.feed(_msg("stream", {"name": "stdout", "text": "a"}))
    c.feed(_msg("stream", {"name": "stdout", "text": "b\n"}))
    c.feed(_msg("stream", {"name": "stdout", "text": "ignored"}, parent="other"))
    c.feed(_msg("display_data", {"data": {"image/png": "AAAA"}, "metadata": {}}))
    c.feed(_msg("execute_result", {"execution_count": 7, "data": {"text/plain": "1"}}))
    c.feed(_msg("error", {"ename": "E", "evalue": "v", "traceback": ["tb"]}))
    assert c.feed(_msg("status", {"execution_state": "idle"}))
    kinds = [o["output_type"] for o in c.outputs]
    assert kinds == ["stream", "display_data", "execute_result", "error"]
    assert c.outputs[0]["text"] == "ab\n"
    assert c.execution_count == 7 and c.raised and not c.truncated


def test_collector_caps_text_and_marks_the_cut() -> None:
    c = OutputCollector("m1", max_chars=10)
    c.feed(_msg("stream", {"name": "stdout", "text": "x" * 25}))
    c.feed(_msg("status", {"execution_state": "idle"}))
    assert c.truncated
    assert c.outputs[0]["text"] == "x" * 10
    assert "15 more characters" in c.outputs[-1]["text"]


def test_render_outputs_notes_images_strips_colours_and_truncates() -> None:
    outputs = [
        StreamOutput("stdout", "\x1b[2mhello\x1b[0m\n"),
        ExecuteResult({"text/plain": "42"}),
        DisplayData({"image/png": "AAAA", "text/plain": "<Figure>"}),
        ErrorOutput("ValueError", "bad", ("\x1b[31mValueError\x1b[0m: bad",)),
    ]
    text = render_outputs(outputs)
    assert "hello\n42\n<Figure>\n[image/png output not shown as text]" in text
    assert "ValueError: bad" in text and "\x1b" not in text
    cut = render_outputs([StreamOutput("stdout", "y" * 100)], max_chars=20)
    assert cut.startswith("y" * 20) and "80 more characters" in cut


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (RunStatus.ERROR, CellExecutionError),
        (RunStatus.TIMEOUT, CellTimeoutError),
        (RunStatus.KERNEL_DIED, KernelDiedError),
    ],
)
def test_run_result_raises_its_typed_error(status: RunStatus, error_type: type) -> None:
    result = RunResult(index=3, status=status)
    with pytest.raises(error_type) as info:
        result.raise_for_status()
    assert info.value.result is result
    assert isinstance(info.value, SandboxError)
    assert RunResult(index=1, status=RunStatus.OK).raise_for_status().ok


def test_metadata_round_trips_and_keeps_unknown_keys() -> None:
    md = SessionMetadata(
        project_root="/p", proxies=("fin/fmp",), cutoff_date="2024-01-01", extra={"k": 1}
    )
    assert SessionMetadata.from_dict(md.to_dict()) == md
    assert SessionMetadata.from_dict({"other": 2}).extra == {"other": 2}
    assert md.runtime_settings() == {"activate": ["fin/fmp"], "cutoff_date": "2024-01-01"}


def test_init_cell_imports_the_proxy_runtime_only_when_proxies_are_active() -> None:
    plain = init_cell_source(SessionMetadata(project_root="/proj"))
    ast.parse(plain)
    assert "/proj" in plain and CALL_FUNCTION_NAME not in plain
    with_proxies = init_cell_source(SessionMetadata(proxies=("a/b",), cutoff_date="2024-01-01"))
    ast.parse(with_proxies)
    module, _, attr = PROXY_RUNTIME_FACTORY.partition(":")
    assert repr(module) in with_proxies and repr(attr) in with_proxies
    assert f"{CALL_FUNCTION_NAME} = " in with_proxies and "2024-01-01" in with_proxies
    with pytest.raises(SandboxError, match="module:function"):
        init_cell_source(SessionMetadata(proxies=("a/b",), proxy_runtime_factory="no_colon"))


class _FakeSession:
    """Just enough of a session for the tool."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run_code(self, source: str, timeout: float | None = None) -> RunResult:
        self.ran.append(source)
        return RunResult(index=1, status=RunStatus.OK, outputs=(StreamOutput("stdout", "z" * 50),))


def test_code_execution_tool_runs_code_and_truncates_for_the_model() -> None:
    session = _FakeSession()
    fn = code_execution_tool(session, max_output_chars=10)  # type: ignore[arg-type]
    done = fn.invoke(FunctionCall(id="c1", name=fn.name, arguments={"code": "print('z'*50)"}))
    assert done.success and session.ran == ["print('z'*50)"]
    assert done.result_text is not None
    assert done.result_text.startswith("[cell 1 · ok]\n" + "z" * 10)
    assert "40 more characters" in done.result_text
    missing = fn.invoke(FunctionCall(id="c2", name=fn.name, arguments={}))
    assert not missing.success


def test_manager_edits_cells_without_starting_a_kernel(tmp_path: Path) -> None:
    sandbox = JupyterSandbox(tmp_path)
    session = sandbox.create_session("edit", {"project_root": str(tmp_path)})
    assert session.init_cell_index() == 0
    a = session.append_cell("a = 1")
    m = session.append_cell("# Title", CellKind.MARKDOWN)
    session.insert_cell(a, "b = 2")
    session.overwrite_cell(a, "b = 3")
    assert [c.source for c in session.cells()[1:]] == ["b = 3", "a = 1", "# Title"]
    assert session.read_cell(m + 1).kind is CellKind.MARKDOWN
    session.delete_cell(1)
    assert [c.source for c in session.cells()[1:]] == ["a = 1", "# Title"]
    with pytest.raises(CellIndexError):
        session.read_cell(99)
    assert not session.started
    assert sandbox.list_sessions() == ["edit"]
    # A fresh manager finds the session on disk, cells and metadata intact.
    again = JupyterSandbox(tmp_path).get_session("edit")
    assert [c.source for c in again.cells()] == [c.source for c in session.cells()]
    assert again.metadata.project_root == str(tmp_path)
    data = again.to_dict()
    sandbox.delete_session("edit")
    assert sandbox.list_sessions() == []
    with pytest.raises(SessionNotFoundError):
        sandbox.get_session("edit")
    rebuilt = sandbox.from_dict(data)
    assert [c.source for c in rebuilt.cells()] == [c.source for c in again.cells()]
    assert "notebook.ipynb" in rebuilt.tree()
    with pytest.raises(SandboxError):
        sandbox.create_session("../escape")
    with pytest.raises(SandboxError):
        sandbox.create_session("edit")
