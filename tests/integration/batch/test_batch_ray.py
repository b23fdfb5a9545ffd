"""The Ray engine on a real two-node local cluster, logging to a real PostgreSQL server (the
many-machines store): a worker node is killed mid-batch and every row still ends exactly once in
the results file and in the store."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.batch_project import weather_handler, write_project, write_rows
from tests.support.openai_server import OpenAIServer
from tests.support.postgres_server import PostgresServer, postgres_server
from tests.support.ray_cluster import RayCluster

__all__ = ["postgres_server"]

ROWS = 160


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    running = RayCluster(tmp_path_factory.mktemp("ray"))
    try:
        yield running.start()
    finally:
        running.stop()


def test_a_batch_survives_a_killed_worker_node_with_every_row_recorded_once(
    cluster: RayCluster,
    postgres_server: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # as the engine sets it
    import ray
    from lllm_adapters.logs import open_log_store
    from lllm_cli.batch import batch_results, run_batch

    # Connect first and wait until the scheduler sees both nodes' CPUs: a node that has just
    # joined may not be offered to actors yet, and the engine would place every worker on the
    # head (the engine uses this connection).
    ray.init(
        address=cluster.address,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = [n for n in ray.nodes() if n.get("Alive")]
        if len(alive) == 2 and ray.cluster_resources().get("CPU", 0) >= 2 * cluster.cpus:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the Ray cluster did not show both nodes within 60 s: {ray.nodes()}")

    project = write_project(tmp_path / "weather")
    config = project / "config" / "default.yaml"
    text = config.read_text("utf-8")
    assert "log_type: sqlite" in text
    config.write_text(
        text.replace("log_type: sqlite", "log_type: postgres\nlog_dsn: ${LLLM_POSTGRES_DSN}"),
        "utf-8",
    )
    dsn = postgres_server.schema_dsn(tmp_path)
    monkeypatch.setenv("LLLM_POSTGRES_DSN", dsn)  # the workers get it from the driver
    rows = write_rows(
        project / "rows.jsonl",
        [{"id": f"r{i:03d}", "task": "weather", "city": f"City{i}"} for i in range(ROWS)],
    )
    results = project / "rows.results.jsonl"
    with OpenAIServer(handler=weather_handler(), latency=0.05) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-ray-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)

        def kill_when_under_way() -> None:
            # Under way: rows are finishing, and the second node hosts workers (on a loaded
            # machine its actors may start after the head's have done the first chunks).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if (
                    results.exists()
                    and results.read_bytes().count(b"\n") >= 24
                    and cluster.node_actor_pids()
                ):
                    cluster.kill_node()
                    return
                time.sleep(0.02)

        killer = threading.Thread(target=kill_when_under_way, daemon=True)
        killer.start()
        try:
            run = run_batch(
                rows, project=project, engine="ray", address=cluster.address, concurrency=8
            )
        finally:
            if ray.is_initialized():
                ray.shutdown()
        killer.join(5)

    assert cluster.node is not None and cluster.node.poll() is not None, "the node was not killed"
    assert run.requeued > 0, "no row was running on the killed node"
    assert (run.summary.ok, run.summary.failed, run.summary.pending) == (ROWS, 0, 0)
    keys = Counter(json.loads(line)["key"] for line in results.read_text("utf-8").splitlines())
    assert sorted(keys) == [f"r{i:03d}" for i in range(ROWS)] and set(keys.values()) == {1}
    assert not (project / "logs").exists(), "the rows were logged to files, not PostgreSQL"
    store = open_log_store("postgres", dsn=dsn)
    _, stored = batch_results(store, "rows")
    assert Counter(r.key for r in stored) == keys
    # Every recorded row's session is in the store, written by the worker that ran it.
    sessions = set(store.sessions())
    assert all(r.session in sessions for r in stored)
