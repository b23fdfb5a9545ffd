"""Batch runs: 10,000 rows through an agent with one tool against the fake OpenAI server at
100 ms latency (two requests per row: a tool call, then the answer), logged to SQLite.

- Local engine: rows per second and wall time, and the ratio to the floor. The floor is what
  no engine can beat on this machine: the larger of the server latency (rows / concurrency x
  2 x 100 ms) and the client CPU (rows x one run's time against a 0 ms server, measured here
  the way bench/openai_loopback.py measures it). Target <= 1.3x.
- Ray on a two-node local cluster (tests/support/ray_cluster.py): wall time as a ratio to the
  local engine for the same rows.
- Resume: `lllm batch run` SIGKILLed at about half-way and started again: rows run twice
  (target <= the concurrency), and no row lost or recorded twice.

Run: ``uv run python bench/batch.py [--rows 10000] [--concurrency 100] [--skip-ray]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test server and helpers live in tests/support
sys.path.insert(0, str(ROOT / "bench"))

from openai_loopback import start_server  # noqa: E402

from tests.support.config_projects import write_files  # noqa: E402

LATENCY = 0.1
REQUESTS_PER_ROW = 2

PROJECT = {
    "lllm.toml": """
        [project]
        name = "bench"
        system_module = "system"
        config = "config/default.yaml"

        [prompts]
        folders = ["prompts"]
        """,
    "prompts/main.py": """
        from lllm_domain import Prompt, tool


        @tool
        def get_weather(city: str) -> str:
            \"\"\"The weather in a city.

            Args:
                city: The city name.
            \"\"\"
            return f"sunny in {city}"


        system = Prompt("bench/system", "You are a weather assistant.")
        task = Prompt("bench/task", "What is the weather in {city}?", functions=(get_weather,))
        """,
    "system.py": """
        from typing import Any

        from lllm_domain import AsyncSystem


        class BenchSystem(AsyncSystem):
            system_type = "bench"

            async def arun(self, task: str, city: str = "Paris", **kwargs: Any) -> Any:
                agent = self.agents["assistant"]
                dialog = agent.init_dialog(session=self.session or "default")
                prompt = self.runtime.prompts.get("bench/task")
                return (await agent.acall(dialog, prompt, {"city": city})).content
        """,
    "config/default.yaml": """
        name: bench
        system_type: bench
        log_type: sqlite
        log_dir: logs
        agent_configs:
          assistant:
            model_name: gpt-4o
            system_prompt_path: bench/system
        """,
}


def make_project(folder: Path, rows: int) -> Path:
    project = write_files(folder / "bench", PROJECT)
    with (project / "rows.jsonl").open("w", encoding="utf-8") as out:
        for i in range(rows):
            out.write(json.dumps({"id": f"r{i:05d}", "task": "weather", "city": "Paris"}) + "\n")
    return project


def client_cpu_per_run(port: int) -> float:
    """Median seconds per sequential agent run (two turns, SQLite log) against a 0 ms server:
    bench/openai_loopback.py's measure, fewer repeats."""
    import openai_loopback

    openai_loopback.REPEATS = 1
    with tempfile.TemporaryDirectory() as folder:
        store = openai_loopback.make_store("sqlite", folder)
        agent, _raw = openai_loopback.sequential(port, store)
    return agent


def local_run(project: Path, concurrency: int) -> tuple[float, int]:
    from lllm_cli.batch import run_batch

    start = time.perf_counter()
    run = run_batch(project / "rows.jsonl", project=project, concurrency=concurrency)
    wall = time.perf_counter() - start
    assert run.summary.failed == 0, run.summary
    return wall, run.summary.ok


def ray_run(project: Path, concurrency: int, folder: Path) -> tuple[float, int]:
    import ray
    from lllm_cli.batch import run_batch

    from tests.support.ray_cluster import RayCluster

    cluster = RayCluster(folder).start()
    try:
        start = time.perf_counter()
        run = run_batch(
            project / "rows.jsonl",
            project=project,
            concurrency=concurrency,
            engine="ray",
            address=cluster.address,
        )
        wall = time.perf_counter() - start
        ray.shutdown()
    finally:
        cluster.stop()
    assert run.summary.failed == 0, run.summary
    return wall, run.summary.ok


def resume_after_kill(project: Path, rows: int, concurrency: int) -> tuple[int, int, int, int]:
    """(rows recorded before the kill, rows run twice, rows recorded in all, duplicates)."""
    from lllm_adapters.logs import open_log_store

    args = [sys.executable, "-m", "lllm_cli", "batch", "run", "rows.jsonl", "--no-progress"]
    args += ["--concurrency", str(concurrency)]
    results = project / "rows.results.jsonl"
    first = subprocess.Popen(args, cwd=project, stdout=subprocess.DEVNULL)
    while not results.exists() or results.read_bytes().count(b"\n") < rows // 2:
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = results.read_bytes().count(b"\n")
    subprocess.run(args, cwd=project, stdout=subprocess.DEVNULL, check=True)
    keys = Counter(json.loads(line)["key"] for line in results.read_text("utf-8").splitlines())
    store = open_log_store("sqlite", project / "logs")
    attempts = Counter(s.split("/")[1] for s in store.sessions() if s.startswith("rows/"))
    rerun = sum(1 for n in attempts.values() if n > 1)
    return before, rerun, len(keys), sum(n - 1 for n in keys.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--skip-ray", action="store_true")
    options = parser.parse_args()
    rows, concurrency = options.rows, options.concurrency
    fast = start_server(18741, 0.0)
    slow = start_server(18742, LATENCY)
    os.environ.update(
        {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": "http://127.0.0.1:18742/v1"}
    )
    figures: list[tuple[str, str]] = []

    def show(*new: tuple[str, str]) -> None:
        figures.extend(new)
        for name, value in new:
            print(f"{name:<58}  {value:>16}", flush=True)

    try:
        cpu = client_cpu_per_run(18741)
        latency_floor = rows / concurrency * REQUESTS_PER_ROW * LATENCY
        cpu_floor = rows * cpu
        floor = max(latency_floor, cpu_floor)
        with tempfile.TemporaryDirectory() as folder:
            walls = []
            for i in range(2):
                project = make_project(Path(folder) / f"local{i}", rows)
                wall, ok = local_run(project, concurrency)
                assert ok == rows
                walls.append(wall)
                print(f"  local run {i + 1}: {wall:.1f} s", flush=True)
            local = statistics.median(walls)
            show(
                ("client CPU per run (0 ms server, SQLite log)", f"{cpu * 1e3:.2f} ms"),
                ("floor: latency / client CPU", f"{latency_floor:.1f} s / {cpu_floor:.1f} s"),
                (f"local engine, {rows} rows, concurrency {concurrency}: wall", f"{local:.1f} s"),
                ("local engine: rows per second", f"{rows / local:.0f}"),
                ("local engine: ratio to the floor (target <= 1.3)", f"{local / floor:.2f}x"),
            )
            if not options.skip_ray:
                project = make_project(Path(folder) / "ray", rows)
                ray_dir = Path(folder) / "ray-cluster"
                ray_dir.mkdir()
                wall, ok = ray_run(project, concurrency, ray_dir)
                assert ok == rows
                show(
                    ("Ray, 2-node local cluster: wall", f"{wall:.1f} s"),
                    ("Ray: ratio to the local engine", f"{wall / local:.2f}x"),
                )
            project = make_project(Path(folder) / "resume", rows)
            before, rerun, recorded, duplicates = resume_after_kill(project, rows, concurrency)
            show(
                ("resume: rows recorded before SIGKILL", str(before)),
                (f"resume: rows run twice (target <= {concurrency})", str(rerun)),
                ("resume: rows recorded / duplicated", f"{recorded} / {duplicates}"),
            )
    finally:
        for proc in (fast, slow):
            proc.terminate()
            proc.wait()
    print(f"({len(figures)} figures)")


if __name__ == "__main__":
    main()
