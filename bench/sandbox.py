"""Sandbox benchmark: kernel start time and the warm round trip of a trivial cell.

Run with ``uv run python bench/sandbox.py``. Prints medians; asserts nothing. The target for a
warm trivial cell is <= 10 ms median (the run includes writing the notebook to disk).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from lllm_adapters.jupyter import AsyncJupyterSession, JupyterSession

STARTS = 5
ROUND_TRIPS = 200


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_start(root: Path) -> list[float]:
    """Seconds from a new session to a started kernel with its init cell run."""
    samples = []
    for i in range(STARTS):
        session = JupyterSession(root / f"start{i}")
        samples.append(_timed(session.start))
        session.shutdown()
    return samples


def bench_round_trips(root: Path) -> dict[str, list[float]]:
    """Warm trips: re-running one cell, and appending + running a new cell each time, with and
    without schema validation on save. The two sessions' samples are interleaved so machine
    noise hits both alike."""
    sessions = {
        validate: JupyterSession(root / f"warm-{validate}", validate_on_save=validate)
        for validate in (True, False)
    }
    cells = {}
    for validate, session in sessions.items():
        session.start()
        cells[validate] = session.append_cell("1")
        for _ in range(20):  # warm-up
            session.run_cell(cells[validate])
    samples: dict[str, list[float]] = {
        k: [] for k in ("rerun-True", "rerun-False", "append-True", "append-False", "save")
    }
    for _ in range(ROUND_TRIPS):
        for validate, session in sessions.items():
            index = cells[validate]
            samples[f"rerun-{validate}"].append(_timed(partial(session.run_cell, index)))
    for _ in range(ROUND_TRIPS // 2):
        for validate, session in sessions.items():
            samples[f"append-{validate}"].append(_timed(partial(session.run_code, "1")))
    checked = sessions[True]
    samples["save"] = [_timed(checked.save) for _ in range(ROUND_TRIPS)]
    for session in sessions.values():
        session.shutdown()
    return samples


def bench_async(root: Path) -> list[float]:
    """Warm re-runs of one cell through the async session."""

    async def go() -> list[float]:
        session = AsyncJupyterSession(root / "async", validate_on_save=False)
        await session.start()
        index = session.append_cell("1")
        for _ in range(20):
            await session.run_cell(index)
        samples = []
        for _ in range(ROUND_TRIPS):
            t0 = time.perf_counter()
            await session.run_cell(index)
            samples.append(time.perf_counter() - t0)
        await session.shutdown()
        return samples

    return asyncio.run(go())


def main() -> None:
    """Run every measurement and print the table."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = bench_start(root)
        trips = bench_round_trips(root)
        async_rerun = bench_async(root)
    rows = [
        (f"kernel start + init cell (n={STARTS})", _median_ms(start)),
        ("warm re-run of `1`, validated save", _median_ms(trips["rerun-True"])),
        ("warm re-run of `1`, unvalidated save", _median_ms(trips["rerun-False"])),
        ("warm append+run of `1`, validated saves", _median_ms(trips["append-True"])),
        ("warm append+run of `1`, unvalidated saves", _median_ms(trips["append-False"])),
        ("notebook save alone (validated, ~110 cells)", _median_ms(trips["save"])),
        ("warm re-run of `1`, async session", _median_ms(async_rerun)),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measurement':<{width}}  median ms")
    print(f"{'-' * width}  ---------")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:9.2f}")


if __name__ == "__main__":
    main()
