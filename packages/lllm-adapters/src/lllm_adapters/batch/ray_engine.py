"""The Ray engine: a batch spread over a Ray cluster (``pip install "lllm-adapters[ray]"``).

The driver (this process) keeps the queue and the results; workers are Ray actors, each
building its :class:`~lllm_domain.batch.RowRunner` once (callers with pooled connections, its
log store) and running the rows of a chunk concurrently. Rows travel in chunks; a chunk whose
worker or node dies goes back to the queue and runs on another worker (a replacement is
started). The driver records every result through the journal, skipping a key it has already
recorded in this run, so each row is recorded exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from attrs import define
from lllm_domain.batch import (
    BatchRow,
    BatchSpend,
    RowResult,
    RunnerFactory,
    budget_stop,
)
from lllm_domain.errors import BatchError, ConfigError

from lllm_adapters.batch.engine import BatchEngineBase, EngineJob, RunReport
from lllm_adapters.extras import require_extra

WORKER_ENV_PREFIXES = ("OPENAI_", "LLLM_")
"""Environment variables handed to workers (model endpoints and keys; the cluster's own
processes may have been started from another shell). They travel as actor arguments, never in
Ray's runtime environment, which Ray logs."""


class _Worker:
    """The actor: one runner, many chunks (rows of a chunk run concurrently)."""

    def __init__(self, factory: RunnerFactory, env: Mapping[str, str], concurrency: int) -> None:
        os.environ.update(env)
        self.runner = factory()
        self.concurrency = concurrency

    def node(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())

    async def run_chunk(self, rows: Sequence[BatchRow], batch: str) -> list[RowResult]:
        import asyncio

        from lllm_adapters.batch.local import run_one

        slots = asyncio.Semaphore(self.concurrency)

        async def one(row: BatchRow) -> RowResult:
            async with slots:
                return await run_one(self.runner, row, batch)

        return list(await asyncio.gather(*(one(row) for row in rows)))


@define(slots=True)
class RayEngine(BatchEngineBase):
    """Runs a batch on Ray: the cluster at ``address``, else a local Ray started for the run.

    ``concurrency`` rows run at once over ``workers`` actors (default: one per CPU of the
    cluster, at most ``concurrency``); rows are shipped ``chunk_size`` at a time.
    """

    address: str | None = None
    workers: int | None = None
    chunk_size: int = 8
    max_worker_restarts: int = 16
    environ: Mapping[str, str] | None = None

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be at least 1, not {self.chunk_size}")

    @contextlib.contextmanager
    def _ray(self) -> Iterator[Any]:
        """The ``ray`` module, connected: to the cluster at ``address`` or a local Ray started
        here (and shut down on leaving)."""
        require_extra("ray", __name__)
        # Under `uv run`, Ray would otherwise ship this folder to every worker and run each in
        # a `uv run` of its own (minutes); workers use the cluster's own Python instead. Ray
        # reads the switch when it is imported.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        import ray

        started_here = not ray.is_initialized()
        if started_here:
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    log_to_driver=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"at --address {self.address}" if self.address else "locally"
                raise BatchError(
                    f"cannot start or reach Ray {where}: {exc}; check the address (ray status "
                    "on the head node shows it) or drop --address to start a local Ray"
                ) from None
        try:
            yield ray
        finally:
            if started_here:
                ray.shutdown()

    def _worker_count(self, ray: Any) -> int:
        if self.workers is not None:
            return max(1, min(self.workers, self.concurrency))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return max(1, min(cpus, self.concurrency))

    def _run_job(self, job: EngineJob) -> RunReport:
        """Run ``job`` on the cluster; see the class docstring."""
        with self._ray() as ray:
            return self._run(ray, job)

    def _run(self, ray: Any, job: EngineJob) -> RunReport:
        rows, factory, journal = job.rows, job.factory, job.journal
        batch, progress = job.batch, job.progress
        from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

        dead_errors = (RayActorError, WorkerCrashedError)
        env = {
            k: v
            for k, v in (self.environ or os.environ).items()
            if k.startswith(WORKER_ENV_PREFIXES)
        }
        count = self._worker_count(ray)
        per_worker = max(1, math.ceil(self.concurrency / count))
        actor_cls = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(_Worker)

        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        spawned = 0

        def spawn() -> Any:
            # Round-robin over the nodes alive now, so every node gets workers: Ray's SPREAD,
            # and even a soft node affinity, may leave a node idle (seen: four workers asked
            # two by two of two nodes all placed on one). The affinity is hard; a worker whose
            # node died before it started fails like any dead worker and is replaced on the
            # nodes alive then.
            nonlocal spawned
            nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))
            spawned += 1
            strategy: Any = "SPREAD"
            if nodes:
                node = nodes[(spawned - 1) % len(nodes)]
                strategy = NodeAffinitySchedulingStrategy(node_id=node, soft=False)
            return actor_cls.options(scheduling_strategy=strategy).remote(factory, env, per_worker)

        progress.started(len(rows), job.already)
        queue: deque[list[BatchRow]] = deque(
            list(rows[i : i + self.chunk_size]) for i in range(0, len(rows), self.chunk_size)
        )
        actors = [spawn() for _ in range(count)]
        restarts = 0
        requeued = 0
        # Each worker holds up to two chunks: one running, one queued behind it.
        inflight: dict[Any, tuple[Any, list[BatchRow]]] = {}
        recorded: set[str] = set()
        done: list[RowResult] = []
        spend = BatchSpend()
        stopped: str | None = None

        def dispatch() -> None:
            nonlocal stopped
            for actor in actors:
                while queue and sum(1 for a, _ in inflight.values() if a is actor) < 2:
                    stopped = budget_stop(spend, self.budget)
                    if stopped is not None:
                        queue.clear()
                        return
                    chunk = queue.popleft()
                    inflight[actor.run_chunk.remote(chunk, batch)] = (actor, chunk)

        try:
            dispatch()
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                for ref in ready:
                    if ref not in inflight:  # another chunk of a worker that died, already requeued
                        continue
                    actor, chunk = inflight.pop(ref)
                    try:
                        results: list[RowResult] = ray.get(ref)
                    except dead_errors as exc:
                        last_death = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                        # The worker (or its node) died: its chunks go back to the queue, to run on
                        # the others and on a replacement.
                        lost = [chunk] + [c for r, (a, c) in list(inflight.items()) if a is actor]
                        for r in [r for r, (a, _) in inflight.items() if a is actor]:
                            inflight.pop(r)
                        for c in lost:
                            again = [row for row in c if row.key not in recorded]
                            requeued += len(again)
                            if again:
                                queue.appendleft(again)
                        if actor in actors:
                            actors.remove(actor)
                            if restarts < self.max_worker_restarts:
                                restarts += 1
                                actors.append(spawn())
                        if not actors:
                            raise BatchError(
                                "every Ray worker died and no more may be started (the last: "
                                f"{last_death or 'no reason given'}); see `ray status` and the "
                                "workers' logs"
                            ) from None
                        continue
                    except RayTaskError as exc:
                        raise BatchError(f"a Ray worker failed outside any row: {exc}") from None
                    fresh = [r for r in results if r.key not in recorded]
                    journal.record(fresh)
                    for result in fresh:
                        recorded.add(result.key)
                        spend = spend.plus(result.cost_usd, result.requests)
                        done.append(result)
                        progress.finished_row(result)
                dispatch()
        finally:
            # Workers of an existing cluster outlive this driver unless ended here (a local Ray
            # started for the run ends with it anyway).
            for actor in actors:
                ray.kill(actor)
        return RunReport(tuple(done), stopped, requeued=requeued)
