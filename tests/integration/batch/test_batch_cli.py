"""`lllm batch run / status / report` as a user runs them: a batch SIGKILLed mid-run and started
again loses and duplicates nothing; status reads the store from another shell; the report is
one page a headless Chromium renders, with failing rows linked to their timelines."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.batch_project import bad_request, weather_handler, write_project, write_rows
from tests.support.cli_runner import clean_env, lllm
from tests.support.openai_server import OpenAIServer, RecordedRequest, Reply

CHROMIUM = Path("/usr/bin/chromium")
ROWS = 120
CONCURRENCY = 6


def _fault(request: RecordedRequest, city: str) -> Reply | None:
    return bad_request("city refused by the test server") if city.startswith("Bad") else None


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(handler=weather_handler(_fault), latency=0.05) as running:
        yield running


@pytest.fixture(scope="module")
def killed_and_resumed(
    tmp_path_factory: pytest.TempPathFactory, server: OpenAIServer
) -> tuple[Path, subprocess.CompletedProcess[str], int]:
    """A batch killed with SIGKILL after ~40 results, its results file then torn by hand (a
    write cut short), and run again to the end."""
    project = write_project(tmp_path_factory.mktemp("batch") / "weather")
    rows = [
        {"id": f"r{i:03d}", "task": "weather", "city": f"Bad{i}" if i % 40 == 7 else f"City{i}"}
        for i in range(ROWS)
    ]
    write_rows(project / "rows.jsonl", rows)
    env = {"OPENAI_API_KEY": "sk-batch-secret-key", "OPENAI_BASE_URL": server.url}
    args = ["batch", "run", "rows.jsonl", "--concurrency", str(CONCURRENCY), "--no-progress"]
    results = project / "rows.results.jsonl"
    first = subprocess.Popen(
        [sys.executable, "-m", "lllm_cli", *args],
        cwd=project,
        env=clean_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if results.exists() and results.read_bytes().count(b"\n") >= 40:
            break
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    recorded_before = results.read_bytes().count(b"\n")
    assert 40 <= recorded_before < ROWS, "the batch finished before it could be killed"
    with results.open("ab") as handle:  # a line torn by the crash
        handle.write(b'{"key":"r119","status":"ok","outp')
    again = lllm(*args, cwd=project, env=env, timeout=120)
    return project, again, recorded_before


def _results(project: Path) -> list[dict[str, object]]:
    text = (project / "rows.results.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_a_killed_batch_resumes_losing_and_duplicating_nothing(
    killed_and_resumed: tuple[Path, subprocess.CompletedProcess[str], int],
) -> None:
    project, again, before = killed_and_resumed
    assert again.returncode == 0, again.stderr
    lines = _results(project)
    keys = Counter(str(line["key"]) for line in lines)
    assert sorted(keys) == [f"r{i:03d}" for i in range(ROWS)]
    assert set(keys.values()) == {1}
    assert f"{ROWS - before} rows run now, {before} already recorded" in again.stdout

    from lllm_adapters.logs import open_log_store
    from lllm_cli.batch import batch_results

    store = open_log_store("sqlite", project / "logs")
    _, stored = batch_results(store, "rows")
    assert sorted(r.key for r in stored) == sorted(keys)
    # Rows re-run after the kill (a session started before it and one after): at most the
    # rows in flight, which is at most the concurrency.
    attempts = Counter(s.split("/")[1] for s in store.sessions() if s.startswith("rows/"))
    rerun = [k for k, n in attempts.items() if n > 1]
    assert len(rerun) <= CONCURRENCY, rerun
    assert "sk-batch-secret-key" not in (project / "rows.results.jsonl").read_text("utf-8")


def test_the_summary_counts_failures_by_type(
    killed_and_resumed: tuple[Path, subprocess.CompletedProcess[str], int],
) -> None:
    _, again, _ = killed_and_resumed
    out = again.stdout
    assert re.search(r"ok\s+│?\s*117", out), out
    assert re.search(r"failed\s+│?\s*3", out), out
    assert "LLMRetriesExhaustedError" in out or "AgentCallError" in out, out
    assert "p50 / p95" in out
    assert "--retry-failed" in out


def test_status_reads_the_batch_from_the_store(
    killed_and_resumed: tuple[Path, subprocess.CompletedProcess[str], int],
) -> None:
    project, _, _ = killed_and_resumed
    listed = lllm("batch", "status", cwd=project)
    assert listed.returncode == 0 and listed.stdout.split() == ["rows"], listed.stderr
    shown = lllm("batch", "status", "rows", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert f"batch rows: {ROWS} of {ROWS} rows recorded · 117 ok · 3 failed" in shown.stdout
    typo = lllm("batch", "status", "rowz", cwd=project)
    assert typo.returncode == 2 and "did you mean 'rows'" in typo.stderr


def test_the_report_is_one_page_chromium_renders_with_errors_linked_to_timelines(
    killed_and_resumed: tuple[Path, subprocess.CompletedProcess[str], int], tmp_path: Path
) -> None:
    project, _, _ = killed_and_resumed
    page = tmp_path / "report.html"
    made = lllm("batch", "report", "rows", "--html", str(page), cwd=project)
    assert made.returncode == 0, made.stderr
    html = page.read_text(encoding="utf-8")
    # Self-contained: no script, nothing loaded from elsewhere (endpoint URLs appear as text).
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    links = re.findall(r'href="#(session-\d+)"', html)
    assert links and all(f'id="{anchor}"' in html for anchor in links)
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed: apt-get update && apt-get install -y chromium")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]
    shot = tmp_path / "report.png"
    subprocess.run(
        [str(CHROMIUM), *flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
    dom = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    text = " ".join(re.sub(r"<[^>]+>", " ", dom).split())
    for expected in (
        "LLLM batch rows",
        "Latency distribution",
        "Cost and tokens per agent",
        "Errors by type",
        "city refused by the test server",
        "What is the weather in Bad7?",
    ):
        assert expected in text, expected
