"""The local batch engine end to end, in process, against the fake OpenAI server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lllm_cli.batch import BatchRun

from tests.support.batch_project import bad_request, weather_handler, write_project, write_rows
from tests.support.openai_server import OpenAIServer, RecordedRequest, Reply, rate_limited


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "weather")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-batch-test-key")
    yield


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _run(
    server: OpenAIServer,
    project: Path,
    rows: Path,
    monkeypatch: pytest.MonkeyPatch,
    **options: object,
) -> BatchRun:
    from lllm_cli.batch import run_batch

    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    return run_batch(rows, project=project, **options)  # type: ignore[arg-type]


def test_every_row_runs_once_and_is_recorded_in_the_file_and_the_store(
    project: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = write_rows(
        project / "rows.jsonl",
        [{"id": f"r{i}", "task": "weather", "city": f"City{i}"} for i in range(20)]
        + [{"task": "weather", "city": "NoId"}],
    )
    with OpenAIServer(handler=weather_handler()) as server:
        run = _run(server, project, rows, monkeypatch, concurrency=5)

    assert run.summary.ok == 21 and run.summary.failed == 0
    lines = _lines(run.results_path)
    # A row without an id is keyed by a hash of its fields.
    assert sum(str(line["key"]).startswith("h-") for line in lines) == 1
    assert len(lines) == 21 and len({line["key"] for line in lines}) == 21
    by_key = {line["key"]: line for line in lines}
    assert by_key["r3"]["output"] == {"answer": "sunny in City3", "city": "City3"}
    assert by_key["r3"]["usage"]["input_tokens"] == 180
    assert by_key["r3"]["requests"] == 2
    assert by_key["r3"]["cost_usd"] > 0
    # The row's dialog is a session in the store, as in `lllm run`.
    from lllm_adapters.logs import open_log_store
    from lllm_domain.replay import ReplaySession

    store = open_log_store("sqlite", project / "logs")
    session = str(by_key["r3"]["session"])
    assert session in store.sessions()
    assert ReplaySession(store, session).costs().session.replies == 2
    from lllm_cli.batch import batch_results

    _, stored = batch_results(store, "rows")
    assert sorted(r.key for r in stored) == sorted(by_key)


def test_a_second_run_skips_recorded_rows_and_retry_failed_runs_only_failures(
    project: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = write_rows(
        project / "rows.jsonl",
        [{"id": f"r{i}", "task": "weather", "city": f"City{i}"} for i in range(6)],
    )
    broken = {"City2"}

    def fault(request: RecordedRequest, city: str) -> Reply | None:
        return bad_request("this row is refused") if city in broken else None

    with OpenAIServer(handler=weather_handler(fault)) as server:
        first = _run(server, project, rows, monkeypatch, concurrency=3)
        assert (first.summary.ok, first.summary.failed) == (5, 1)
        (failed,) = [r for r in first.recorded_now if not r.ok]
        assert (
            failed.key == "r2" and failed.error_type and "refused" in (failed.error_message or "")
        )
        requests = len(server.requests)

        again = _run(server, project, rows, monkeypatch, concurrency=3)
        assert again.recorded_now == () and len(server.requests) == requests
        assert again.summary.failed == 1

        broken.clear()
        retried = _run(server, project, rows, monkeypatch, concurrency=3, retry_failed=True)
    assert [r.key for r in retried.recorded_now] == ["r2"]
    assert (retried.summary.ok, retried.summary.failed) == (6, 0)


def test_a_429_storm_slows_the_batch_and_fails_no_row(
    project: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = write_rows(
        project / "rows.jsonl",
        [{"id": f"r{i}", "task": "weather", "city": f"City{i}"} for i in range(12)],
    )
    lock = threading.Lock()
    storm = {"left": 20}

    def fault(request: RecordedRequest, city: str) -> Reply | None:
        with lock:
            if storm["left"] > 0:
                storm["left"] -= 1
                return rate_limited("0")
        return None

    with OpenAIServer(handler=weather_handler(fault)) as server:
        # Each agent call allows only 2 retries in 1 s (the project's config): without a
        # shared backoff, 20 refusals spread over 12 rows fail some of them.
        run = _run(server, project, rows, monkeypatch, concurrency=6)
    assert storm["left"] == 0
    assert (run.summary.ok, run.summary.failed) == (12, 0)


def test_5xx_errors_and_a_raising_tool_end_as_recorded_rows(
    project: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = write_rows(
        project / "rows.jsonl",
        [
            {"id": "ok", "task": "weather", "city": "Paris"},
            {"id": "flaky", "task": "weather", "city": "Flaky"},
            {"id": "down", "task": "weather", "city": "Down"},
            {"id": "tool", "task": "weather", "city": "Atlantis"},
            {"id": "no-task", "city": "Paris"},
        ],
    )
    flaky = {"left": 1}

    def fault(request: RecordedRequest, city: str) -> Reply | None:
        if city == "Down":
            return Reply({"error": {"message": "upstream down"}}, status=503)
        if city == "Flaky" and flaky["left"]:
            flaky["left"] -= 1
            return Reply({"error": {"message": "hiccup"}}, status=502)
        return None

    with OpenAIServer(handler=weather_handler(fault)) as server:
        run = _run(server, project, rows, monkeypatch, concurrency=5)
    by_key = {line["key"]: line for line in _lines(run.results_path)}
    assert by_key["ok"]["status"] == "ok"
    assert by_key["flaky"]["status"] == "ok"  # the agent call's own retry
    assert by_key["down"]["status"] == "failed"
    assert by_key["down"]["error_type"] == "LLMRetriesExhaustedError"
    # The tool's exception goes back to the model as the tool's result; the row still answers.
    assert by_key["tool"]["status"] == "ok"
    assert "no weather station" in json.dumps(by_key["tool"]["output"])
    assert by_key["no-task"]["status"] == "failed"
    assert "'task'" in str(by_key["no-task"]["error_message"])
    assert "sk-batch-test-key" not in run.results_path.read_text(encoding="utf-8")


def test_the_batch_budget_stops_launching_rows_and_a_rerun_goes_on(
    project: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = write_rows(
        project / "rows.jsonl",
        [{"id": f"r{i}", "task": "weather", "city": f"City{i}"} for i in range(20)],
    )
    with OpenAIServer(handler=weather_handler()) as server:
        # Every row makes 2 requests; rows in flight when the limit is reached finish.
        run = _run(server, project, rows, monkeypatch, concurrency=2, max_requests=6)
        assert run.summary.stopped is not None and "--max-requests 6" in run.summary.stopped
        assert 3 <= len(run.recorded_now) <= 4
        assert run.summary.pending == 20 - len(run.recorded_now)
        assert len(server.requests) == 2 * len(run.recorded_now)  # nothing cut off mid-row

        by_cost = _run(server, project, rows, monkeypatch, concurrency=1, max_cost=0.0)
        assert by_cost.recorded_now == () and "--max-cost" in str(by_cost.summary.stopped)

        rest = _run(server, project, rows, monkeypatch, concurrency=4)
    assert rest.summary.stopped is None
    assert (rest.summary.ok, rest.summary.pending) == (20, 0)
