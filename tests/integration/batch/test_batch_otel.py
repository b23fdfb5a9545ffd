"""`lllm batch run --otel`: every row is one trace under its own ``invoke_workflow`` span,
carrying the row's session id, exported to an OTLP/HTTP collector on 127.0.0.1."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from lllm_cli.app import run_cli

from tests.support.batch_project import weather_handler, write_project, write_rows
from tests.support.openai_server import OpenAIServer
from tests.support.otlp_collector import otlp_collector


def test_batch_run_with_otel_traces_each_row_under_its_own_workflow_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "LLLM_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-batch-otel-key")
    project = write_project(tmp_path / "weather")
    rows = write_rows(
        project / "rows.jsonl",
        [{"id": f"r{i}", "task": "weather", "city": f"City{i}"} for i in range(4)],
    )
    with OpenAIServer(handler=weather_handler()) as server, otlp_collector() as collector:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
        code = run_cli(
            ["batch", "run", str(rows), "--project", str(project), "--otel", "--no-progress"]
        )
        assert code == 0, capsys.readouterr().err
        spans = collector.spans()

    results = [
        json.loads(line) for line in (project / "rows.results.jsonl").read_text().splitlines()
    ]
    sessions = {r["session"] for r in results}
    workflows = [s for s in spans if s["name"].startswith("invoke_workflow ")]
    assert {w["attributes"]["lllm.session.id"] for w in workflows} == sessions
    assert len({w["trace_id"] for w in workflows}) == 4  # one trace per row
    by_trace = Counter(s["trace_id"] for s in spans)
    for workflow in workflows:
        agents = [
            s
            for s in spans
            if s["trace_id"] == workflow["trace_id"] and s["name"].startswith("invoke_agent ")
        ]
        assert [a["parent_id"] for a in agents] == [workflow["span_id"]]
        assert agents[0]["attributes"]["gen_ai.provider.name"] == "openai"
        # invoke_workflow, invoke_agent, two chat requests and the tool run.
        assert by_trace[workflow["trace_id"]] == 5
    assert "sk-batch-otel-key" not in json.dumps(spans)
