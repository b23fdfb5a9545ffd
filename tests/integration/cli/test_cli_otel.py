"""`lllm run --otel` and `[tracing] otel = true`: the run's spans reach an OTLP/HTTP collector
on 127.0.0.1, one trace per run under an ``invoke_workflow`` span (run in-process)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lllm_cli.app import run_cli

from tests.support.otlp_collector import Collector, otlp_collector


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("otel")
    assert run_cli(["create", "traced", "--dir", str(root)]) == 0
    return root / "traced"


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    with otlp_collector() as running:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", running.endpoint)
        yield running


def _run(project: Path, *options: str) -> int:
    return run_cli(
        ["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project), *options]
    )


def test_run_with_otel_exports_one_trace_under_the_workflow_span(
    project: Path, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(project, "--otel", "--session", "traced-1") == 0

    out = capsys.readouterr().out
    match = re.search(r"^trace: ([0-9a-f]{32}) \(OTLP/HTTP to (\S+)\)$", out, re.MULTILINE)
    assert match is not None, out
    assert match.group(2) == collector.endpoint
    spans = collector.spans()
    (workflow,) = [s for s in spans if s["name"].startswith("invoke_workflow ")]
    assert workflow["trace_id"] == match.group(1)
    assert workflow["attributes"]["lllm.session.id"] == "traced-1"
    assert all(s["trace_id"] == workflow["trace_id"] for s in spans)
    agents = [s for s in spans if s["name"].startswith("invoke_agent ")]
    assert agents and all(a["parent_id"] == workflow["span_id"] for a in agents)
    assert all(a["attributes"]["gen_ai.provider.name"] == "lllm.scripted" for a in agents)
    names = {s["name"].split(" ")[0] for s in spans}
    assert {"invoke_workflow", "invoke_agent", "chat", "execute_tool"} <= names
    # The example's scripted scenario answers badly once: a parse failure event.
    assert any("lllm.parse_failure" in a["events"] for a in agents)
    assert all("gen_ai.input.messages" not in s["attributes"] for s in spans)


def test_the_config_key_turns_tracing_on_and_no_otel_turns_it_off(
    project: Path, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "lllm.toml"
    original = config.read_text()
    config.write_text(original + "\n[tracing]\notel = true\ncapture_content = true\n")
    try:
        assert _run(project, "--no-otel") == 0
        assert collector.spans() == []
        assert "trace:" not in capsys.readouterr().out
        assert _run(project) == 0
        spans = collector.spans()
        assert any("gen_ai.input.messages" in s["attributes"] for s in spans)
        config.write_text(original + "\n[tracing]\notel = 'yes'\n")
        assert _run(project) == 2
        assert "[tracing] otel must be true or false, not 'yes'" in capsys.readouterr().err
    finally:
        config.write_text(original)


def test_otel_sdk_disabled_wins_over_the_flag(
    project: Path,
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")

    assert _run(project, "--otel") == 0

    assert collector.spans() == []
    assert "trace:" not in capsys.readouterr().out
